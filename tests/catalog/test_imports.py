"""Organization and product imports: preview, atomic commit, idempotent re-import."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.demo import demo_code
from accounts.models import Organization
from accounts.uscc import check_character
from catalog.imports import organization_import, product_import
from catalog.models import Product
from tests.factories import TEST_PASSWORD, user_of
from tests.procurement.factories import consumable_item, drug_item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def org_csv(*rows: str) -> bytes:
    return ("类型,名称,英文名称,统一社会信用代码,省份,医院等级\n" + "\n".join(rows) + "\n").encode(
        "gb18030"
    )


def test_organizations_preview_commit_and_reimport_changes_nothing():
    code1, code2 = demo_code("12", "11", 900001), demo_code("91", "31", 900002)
    data = org_csv(
        f"医院,测试医院,Test Hospital,{code1},11,3", f"生产企业,测试药业,,{code2},上海市,"
    )
    preview = organization_import(data=data, filename="o.csv", max_bytes=10**6, commit=False)
    assert (preview.created, preview.changed, preview.errors) == (2, 0, [])
    assert not Organization.objects.filter(social_credit_code__in=[code1, code2]).exists()
    done = organization_import(data=data, filename="o.csv", max_bytes=10**6, commit=True)
    assert done.committed
    hospital = Organization.objects.get(social_credit_code=code1)
    assert (hospital.kind, hospital.region.code, hospital.hospital_grade) == ("hospital", "11", 3)
    again = organization_import(data=data, filename="o.csv", max_bytes=10**6, commit=True)
    assert (again.created, again.changed, again.unchanged) == (0, 0, 2)
    changed = organization_import(
        data=data.replace("测试医院".encode("gb18030"), "新名称医院".encode("gb18030")),
        filename="o.csv",
        max_bytes=10**6,
        commit=True,
    )
    assert (changed.created, changed.changed, changed.unchanged) == (0, 1, 1)


def test_organization_rows_with_errors_write_nothing():
    good = demo_code("12", "11", 900003)
    data = org_csv(
        f"医院,好医院,,{good},11,3",
        "医院,坏代码,,12110100MB0000000A,11,3",
        f"诊所,未知类型,,{demo_code('12', '11', 900004)},11,3",
        f"医院,无等级,,{demo_code('12', '11', 900005)},99,",
        f"医院,重复,,{good},11,3",
    )
    outcome = organization_import(data=data, filename="o.csv", max_bytes=10**6, commit=True)
    assert not outcome.committed
    assert [(e.row, e.message) for e in outcome.errors] == [
        (
            3,
            "Invalid unified social credit code: the check character is 'A', expected "
            f"'{check_character('12110100MB0000000')}'.",
        ),
        (4, "“诊所” is not a kind of organization (hospital, manufacturer, office)."),
        (5, "a hospital needs a grade (1, 2 or 3)."),
        (5, "“99” is not a province code or name."),
        (6, "duplicate of row 2 (same 统一社会信用代码)."),
    ]
    assert not Organization.objects.filter(social_credit_code=good).exists()


def test_products_import_by_natural_keys():
    drug_item()
    stent = consumable_item()
    maker = user_of("manufacturer").organization
    rival = user_of("manufacturer").organization
    header = (
        "manufacturer credit code,item code,specification code,product name,approval number,"
        "registration number,model,originator,consistency evaluated\n"
    )
    rows = (
        f"{maker.social_credit_code},D-ATV-OS,10MG,阿托伐他汀A,国药准字H20990001,,,否,是\n"
        f"{maker.social_credit_code},C-STENT,UNIT,支架A,,国械注准20993130001,S-1,,\n"
    )
    outcome = product_import(
        data=(header + rows).encode(), filename="p.csv", max_bytes=10**6, commit=True
    )
    assert outcome.committed and outcome.created == 2
    product = Product.objects.get(approval_number="国药准字H20990001")
    assert product.is_consistency_evaluated and not product.is_originator
    again = product_import(
        data=(header + rows).encode(), filename="p.csv", max_bytes=10**6, commit=True
    )
    assert (again.created, again.changed, again.unchanged) == (0, 0, 2)
    assert Product.objects.count() == 2
    stolen = f"{rival.social_credit_code},D-ATV-OS,10MG,冒名,国药准字H20990001,,,否,是\n"
    refused = product_import(
        data=(
            header + stolen + f"{maker.social_credit_code},D-NOPE,10MG,x,国药准字H1,,,,\n"
        ).encode(),
        filename="p.csv",
        max_bytes=10**6,
        commit=True,
    )
    assert [(e.row, e.message) for e in refused.errors] == [
        (2, "this approval or registration number belongs to another manufacturer."),
        (3, "unknown item code “D-NOPE”."),
    ]
    assert Product.objects.get(approval_number="国药准字H20990001").manufacturer == maker
    assert stent.products.count() == 1


def test_office_imports_organizations_through_the_pages(client):
    office = user_of("office")
    client.login(username=office.username, password=TEST_PASSWORD)
    url = reverse("catalog:organization-import")
    code = demo_code("12", "11", 900010)
    upload = SimpleUploadedFile("o.csv", org_csv(f"医院,页面医院,,{code},11,2"))
    response = client.post(url, {"file": upload}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)
    done = client.post(url, {"token": token, "commit": "1"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Imported o.csv: 1 new, 0 changed, 0 unchanged." in done.content.decode()
    assert Organization.objects.filter(social_credit_code=code).exists()


def test_manufacturer_registers_its_own_product_and_lists_only_its_own(client):
    drug_item()
    maker = user_of("manufacturer")
    rival = user_of("manufacturer")
    client.login(username=maker.username, password=TEST_PASSWORD)
    from catalog.models import Specification

    spec = Specification.objects.get(item__code="D-ATV-OS", code="10MG")
    response = client.post(
        reverse("catalog:product-register"),
        {"specification": spec.pk, "name": "阿托伐他汀钙片", "approval_number": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "A drug needs its approval number (国药准字)." in response.content.decode()
    response = client.post(
        reverse("catalog:product-register"),
        {
            "specification": spec.pk,
            "name": "阿托伐他汀钙片",
            "approval_number": "国药准字H20995555",
            "is_consistency_evaluated": "on",
        },
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Registered 阿托伐他汀钙片." in response.content.decode()
    assert Product.objects.get().manufacturer == maker.organization
    client.logout()
    client.login(username=rival.username, password=TEST_PASSWORD)
    assert "国药准字H20995555" not in client.get(reverse("catalog:products")).content.decode()
    response = client.post(
        reverse("catalog:product-register"),
        {"specification": spec.pk, "name": "冒名", "approval_number": "国药准字H20995555"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert (
        "This approval or registration number belongs to another manufacturer&#x27;s product."
        in response.content.decode()
    )


@pytest.mark.parametrize(
    ("who", "expected"), [("manufacturer", 200), ("hospital", 403), ("office", 403), (None, 302)]
)
def test_product_pages_by_role(client, who, expected):
    if who:
        user = user_of(who)
        client.login(username=user.username, password=TEST_PASSWORD)
    for name in ("catalog:products", "catalog:product-register"):
        assert client.get(reverse(name)).status_code == expected
