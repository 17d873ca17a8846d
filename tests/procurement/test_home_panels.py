"""The home pages show the procurement and catalog panels for each role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.procurement.conftest import client_for
from tests.procurement.factories import make_round

pytestmark = pytest.mark.django_db


def test_office_home_lists_its_rounds_and_the_create_link(open_round, office):
    html = client_for(office).get(reverse("accounts:office-home")).content.decode()
    assert open_round.code in html
    assert reverse("procurement:round-create") in html
    assert reverse("catalog:organization-import") in html


def test_hospital_home_lists_rounds_open_for_it_with_its_status(open_round, hospital):
    client = client_for(hospital)
    html = client.get(reverse("accounts:hospital-home")).content.decode()
    assert open_round.code in html
    assert "not declared yet" in html
    fields = {}
    from procurement.selectors import demand_rows_for_hospital

    for row in demand_rows_for_hospital(round_=open_round, hospital=hospital.organization):
        fields[row.field_name] = "5"
    client.post(reverse("procurement:demand", args=[open_round.code]), fields)
    html = client.get(reverse("accounts:hospital-home")).content.decode()
    assert "3 lines declared" in html


def test_hospital_home_hides_rounds_of_other_provinces(office):
    make_round(office=office, code="SH-ONLY", regions=("31",), open_demand=True)
    from tests.procurement.factories import hospital_user

    html = client_for(hospital_user("11")).get(reverse("accounts:hospital-home")).content.decode()
    assert "SH-ONLY" not in html
    assert "No round is open for demand declaration in your province." in html


def test_manufacturer_home_lists_its_products(maker):
    html = client_for(maker).get(reverse("accounts:manufacturer-home")).content.decode()
    assert "No products registered yet." in html
    assert reverse("catalog:product-register") in html
