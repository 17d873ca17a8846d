"""Long catalog lists are paged on the server and searched on the server (``?q=``)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from catalog.services import product_register
from tests.factories import TEST_PASSWORD, user_of
from tests.procurement.factories import drug_item

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _approvals(html: str) -> list[str]:
    return re.findall(r"<td>(国药准字H\d+)</td>", html)


@pytest.fixture
def maker_with_products():
    maker = user_of("manufacturer")
    rival = user_of("manufacturer")
    spec = drug_item().specifications.get(code="10MG")
    for n in range(60):
        product_register(
            manufacturer=maker.organization,
            specification=spec,
            name=f"阿托伐他汀钙片{n:02d}",
            approval_number=f"国药准字H2099{n:04d}",
            is_consistency_evaluated=True,
        )
    product_register(
        manufacturer=rival.organization,
        specification=spec,
        name="对手产品",
        approval_number="国药准字H30990001",
        is_consistency_evaluated=True,
    )
    return maker


def test_a_manufacturers_products_are_paged_in_a_stable_order(maker_with_products):
    client = _client(maker_with_products)
    first = client.get(reverse("catalog:products")).content.decode()
    second = client.get(reverse("catalog:products") + "?page=2").content.decode()
    assert len(_approvals(first)) == 50 and len(_approvals(second)) == 10
    assert set(_approvals(first)).isdisjoint(_approvals(second))
    assert "Rows 1–50 of 60" in first and "Rows 51–60 of 60" in second
    assert "国药准字H30990001" not in first + second  # a rival's product is never listed


def test_the_product_search_covers_every_page_and_survives_the_page_links(maker_with_products):
    client = _client(maker_with_products)
    url = reverse("catalog:products")
    found = client.get(url + "?q=H20990059").content.decode()
    assert _approvals(found) == ["国药准字H20990059"]
    assert '<label for="id_q">Find a product' in found
    assert 'value="H20990059"' in found
    # "钙片0" matches products 00-09: one page, no links.
    assert len(_approvals(client.get(url + "?q=钙片0").content.decode())) == 10
    # The search term is kept in the page links.
    every = client.get(url + "?q=阿托伐他汀").content.decode()
    assert 'href="?q=%E9%98%BF%E6%89%98%E4%BC%90%E4%BB%96%E6%B1%80&amp;page=2"' in every
    assert (
        "No product matches “nothing-like-this”."
        in client.get(url + "?q=nothing-like-this").content.decode()
    )
    # The rival's product is not found by searching for it either.
    assert not _approvals(client.get(url + "?q=H30990001").content.decode())


def test_the_catalog_items_are_paged_and_searchable():
    office = user_of("office")
    for n in range(55):
        drug_item(f"D-T{n:03d}", ("A",))
    client = _client(office)
    url = reverse("catalog:items")
    first = client.get(url).content.decode()
    assert "Rows 1–50 of 55" in first
    assert len(re.findall(r"<td>D-T\d{3}</td>", first)) == 50
    found = client.get(url + "?q=D-T054").content.decode()
    assert re.findall(r"<td>(D-T\d{3})</td>", found) == ["D-T054"]
