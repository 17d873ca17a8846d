"""Office round pages: list, create, detail, lifecycle buttons, cancel, prices, rule sets."""

from __future__ import annotations

import datetime
import io
import json
import re

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Region
from procurement.models import Ceiling, Round, RuleSet
from procurement.services import round_close_demand
from tests.factories import user_of
from tests.procurement.conftest import client_for
from tests.procurement.factories import drug_item, hospital_user, make_round, rule_set

pytestmark = pytest.mark.django_db


def _who(request, name):
    return None if name == "anonymous" else request.getfixturevalue(name)


OFFICE_PAGES = [
    ("procurement:round-create", False),
    ("procurement:round-prices", True),
    ("procurement:ceiling-import", True),
    ("procurement:ceiling-template", True),
    ("procurement:demand-totals", True),
    ("procurement:demand-totals-xlsx", True),
    ("procurement:demand-missing-xlsx", True),
    ("procurement:demand-office-import", True),
    ("catalog:items", False),
    ("catalog:organization-import", False),
    ("catalog:organization-import-template", False),
    ("catalog:product-import", False),
    ("catalog:product-import-template", False),
]
HOSPITAL_PAGES = [
    ("procurement:demand", True),
    ("procurement:demand-upload", True),
    ("procurement:demand-template", True),
]


@pytest.mark.parametrize(("name", "with_round"), OFFICE_PAGES)
@pytest.mark.parametrize(
    ("who", "expected"),
    [("office", 200), ("hospital", 403), ("maker", 403), ("anonymous", 302)],
)
def test_office_pages_by_role(request, open_round, name, with_round, who, expected):
    url = reverse(name, args=[open_round.code] if with_round else [])
    assert client_for(_who(request, who)).get(url).status_code == expected


def test_another_office_cannot_see_the_round(open_round):
    other = user_of("office")
    client = client_for(other)
    assert client.get(reverse("procurement:round", args=[open_round.code])).status_code == 404
    assert (
        client.get(reverse("procurement:round-prices", args=[open_round.code])).status_code == 404
    )
    assert (
        client.get(reverse("procurement:demand-totals", args=[open_round.code])).status_code == 404
    )


@pytest.mark.parametrize(("name", "with_round"), HOSPITAL_PAGES)
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("hospital", 200),
        ("other_hospital", 200),
        ("office", 403),
        ("maker", 403),
        ("anonymous", 302),
    ],
)
def test_hospital_pages_by_role(request, open_round, name, with_round, who, expected):
    url = reverse(name, args=[open_round.code])
    assert client_for(_who(request, who)).get(url).status_code == expected


def test_hospital_outside_the_scope_gets_404(open_round):
    far = hospital_user("44")
    assert (
        client_for(far).get(reverse("procurement:demand", args=[open_round.code])).status_code
        == 404
    )
    assert (
        client_for(far).get(reverse("procurement:round", args=[open_round.code])).status_code == 404
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [("office", 200), ("hospital", 200), ("maker", 200), ("anonymous", 302)],
)
def test_round_detail_and_lists_by_role(request, open_round, who, expected):
    client = client_for(_who(request, who))
    for url in (
        reverse("procurement:round", args=[open_round.code]),
        reverse("procurement:rounds"),
        reverse("procurement:rule-sets"),
        reverse("procurement:rule-set", args=[open_round.rule_set_id]),
    ):
        assert client.get(url).status_code == expected, url


def test_draft_rounds_are_hidden_from_hospitals_and_manufacturers(office, hospital, maker):
    make_round(office=office, code="DRAFT-1")
    for user in (hospital, maker):
        assert (
            client_for(user).get(reverse("procurement:round", args=["DRAFT-1"])).status_code == 404
        )


@pytest.mark.parametrize(
    ("who", "expected"), [("hospital", 200), ("maker", 200), ("office", 403), ("anonymous", 302)]
)
def test_token_page_by_role(request, who, expected, db):
    assert (
        client_for(_who(request, who)).get(reverse("procurement:api-token")).status_code == expected
    )


def test_round_page_renders_other_apps_panels_and_the_office_sees_actions(
    open_round, office, settings
):
    settings.JICAI_ROUND_PANELS = ["procurement/_round_table.html"]
    page = client_for(office).get(reverse("procurement:round", args=[open_round.code]))
    html = page.content.decode()
    assert "Close demand declaration" in html
    assert "Cancel the round" in html
    assert "No rounds yet." in html  # the configured panel was included
    assert "2.5" in html


def _create_data(**overrides):
    now = timezone.localtime() + datetime.timedelta(days=1)
    fmt = "%Y-%m-%dT%H:%M"
    data = {
        "code": "GY-2026-9",
        "name": "第九批",
        "name_en": "Batch 9",
        "kind": "drugs",
        "rule_set": rule_set().pk,
        "regions": [r.pk for r in Region.objects.filter(code__in=["11", "31"])],
        "items": [
            drug_item().pk,
            drug_item("D-CLO-OS", ("75MG",)).pk,
            drug_item("D-AML-OS", ("5MG",)).pk,
        ],
        "demand_opens_at": now.strftime(fmt),
        "demand_closes_at": (now + datetime.timedelta(days=7)).strftime(fmt),
        "bid_deadline": (now + datetime.timedelta(days=28)).strftime(fmt),
        "opening_at": (now + datetime.timedelta(days=28, hours=1)).strftime(fmt),
        "objection_ends_at": (now + datetime.timedelta(days=35)).strftime(fmt),
        "contract_starts_on": (now + datetime.timedelta(days=60)).strftime("%Y-%m-%d"),
    }
    data.update(overrides)
    return data


def test_office_creates_a_drug_round_with_three_items(office):
    client = client_for(office)
    response = client.post(reverse("procurement:round-create"), _create_data(), follow=True)
    assert response.status_code == 200
    round_ = Round.objects.get(code="GY-2026-9")
    assert round_.items.count() == 3
    assert round_.office == office.organization
    assert sorted(round_.regions.values_list("code", flat=True)) == ["11", "31"]
    assert (
        "Round GY-2026-9 created. Set its ceilings, then open demand declaration."
        in response.content.decode()
    )


def test_round_create_shows_errors_next_to_the_fields(office):
    data = _create_data(items=[], rule_set=rule_set("consumables-joints").pk)
    data["bid_deadline"] = data["demand_opens_at"]
    response = client_for(office).post(reverse("procurement:round-create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "This rule set does not apply to a Drugs round." in html
    assert "This field is required." in html
    assert "Must not be before “Demand declaration closes”." in html
    assert not Round.objects.filter(code="GY-2026-9").exists()


def test_state_buttons_call_the_services_and_show_their_refusals(office):
    round_ = make_round(office=office, ceilings=False)
    client = client_for(office)
    url = reverse("procurement:round-transition", args=[round_.code])
    response = client.post(url, {"action": "open_demand"}, follow=True)
    assert "Demand declaration is open." in response.content.decode()
    response = client.post(url, {"action": "open_demand"}, follow=True)
    assert response.status_code == 200
    assert (
        "Round R-2026-1 cannot go from “Demand declaration open” to “Demand declaration open”."
        in response.content.decode()
    )
    client.post(url, {"action": "close_demand"})
    response = client.post(url, {"action": "open_bidding"}, follow=True)
    assert (
        "Set a maximum valid bid price for every item first; missing: D-ATV-OS."
        in response.content.decode()
    )
    round_.refresh_from_db()
    assert round_.status == Round.Status.DEMAND_CLOSED
    assert list(round_.transitions.values_list("to_status", flat=True)) == [
        "draft",
        "demand_open",
        "demand_closed",
    ]


def test_opening_bidding_freezes_the_rule_set_and_revising_creates_a_version(office):
    round_ = make_round(office=office, open_demand=True)
    client = client_for(office)
    round_close_demand(round_=round_, by=office)
    client.post(
        reverse("procurement:round-transition", args=[round_.code]), {"action": "open_bidding"}
    )
    round_.refresh_from_db()
    assert round_.status == Round.Status.BIDDING_OPEN
    frozen = round_.rule_set
    assert frozen.is_frozen
    parameters = dict(frozen.parameters)
    parameters["winner_cap_by_bidders"] = [1, 2, 2, 3]
    response = client.post(
        reverse("procurement:rule-set", args=[frozen.pk]),
        {"parameters": json.dumps(parameters), "description": "shorter cap table"},
        follow=True,
    )
    new = RuleSet.objects.get(name=frozen.name, version=2)
    assert (
        f"{frozen} is frozen (a round using it has opened bidding); your changes were saved "
        f"as {new}." in response.content.decode()
    )
    frozen.refresh_from_db()
    assert frozen.parameters["winner_cap_by_bidders"] != [1, 2, 2, 3]
    round_.refresh_from_db()
    assert round_.rule_set_id == frozen.pk


def test_revising_a_rule_set_with_bad_parameters_shows_the_validator_message(office):
    target = rule_set()
    response = client_for(office).post(
        reverse("procurement:rule-set", args=[target.pk]),
        {"parameters": json.dumps({**target.parameters, "winner_cap_by_bidders": [3, 2]})},
    )
    assert response.status_code == 400
    assert "must not decrease as the number of bidders grows" in response.content.decode()
    response = client_for(office).post(
        reverse("procurement:rule-set", args=[target.pk]), {"parameters": "{not json"}
    )
    assert "Not valid JSON" in response.content.decode()


def test_hospital_cannot_revise_a_rule_set(hospital):
    target = rule_set()
    response = client_for(hospital).post(
        reverse("procurement:rule-set", args=[target.pk]), {"parameters": "{}"}
    )
    assert response.status_code == 404


def test_cancel_needs_a_reason_and_is_recorded(open_round, office):
    client = client_for(office)
    url = reverse("procurement:round-cancel", args=[open_round.code])
    response = client.post(url, {"reason": ""}, follow=True)
    assert "Give a reason for cancelling the round." in response.content.decode()
    response = client.post(url, {"reason": "Supply shortage"}, follow=True)
    assert "Round R-2026-1 is cancelled." in response.content.decode()
    open_round.refresh_from_db()
    assert open_round.status == Round.Status.CANCELLED
    assert open_round.cancelled_reason == "Supply shortage"
    response = client.post(url, {"reason": "again"}, follow=True)
    assert "Round R-2026-1 cannot go from “Cancelled” to “Cancelled”." in response.content.decode()


def test_hospital_cannot_press_the_office_buttons(open_round, hospital):
    url = reverse("procurement:round-transition", args=[open_round.code])
    assert client_for(hospital).post(url, {"action": "close_demand"}).status_code == 403
    open_round.refresh_from_db()
    assert open_round.status == Round.Status.DEMAND_OPEN


def test_prices_form_sets_ceilings_and_shows_field_errors(office):
    round_ = make_round(office=office, ceilings=False)
    client = client_for(office)
    round_item = round_.items.get()
    specs = {s.code: s for s in round_item.item.specifications.all()}
    url = reverse("procurement:round-prices", args=[round_.code])
    response = client.post(
        url,
        {
            f"ref-{round_item.pk}": "7.27",
            f"ceil-{round_item.pk}-{specs['10MG'].pk}": "1.24715",
            f"ceil-{round_item.pk}-{specs['20MG'].pk}": "abc",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "At most 4 decimal places." in html
    assert "“abc” is not a number." in html
    # The summary links each error to its field, which shows the same error beside it.
    ten, twenty = (f"id_ceil-{round_item.pk}-{specs[c].pk}" for c in ("10MG", "20MG"))
    # (The English page names the specifications in English: catalog.spec_names.)
    assert f'<a href="#{ten}">D-ATV-OS 10 mg × 7 tablets: At most 4 decimal places.</a>' in html
    assert f'<a href="#{twenty}">D-ATV-OS 20 mg × 7 tablets: “abc” is not a number.</a>' in html
    for field_id in (ten, twenty):
        assert f'id="{field_id}"' in html
        assert f'aria-describedby="{field_id}-error"' in html
        assert f'<p class="field-error" id="{field_id}-error">' in html
    assert not Ceiling.objects.exists()
    response = client.post(
        url,
        {
            f"ref-{round_item.pk}": "7.27",
            f"ceil-{round_item.pk}-{specs['10MG'].pk}": "1.2471",
            f"ceil-{round_item.pk}-{specs['20MG'].pk}": "2.12",
        },
        follow=True,
    )
    assert "Prices saved." in response.content.decode()
    assert sorted(
        str(c) for c in Ceiling.objects.values_list("max_valid_bid_price", flat=True)
    ) == [
        "1.2471",
        "2.1200",
    ]


def test_ceilings_import_preview_then_commit(office):
    round_ = make_round(office=office, ceilings=False)
    client = client_for(office)
    url = reverse("procurement:ceiling-import", args=[round_.code])
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = (
        "品种编码,规格编码,最高有效申报价,参考价\n"
        "D-ATV-OS,10MG,1.2471,7.27\nD-ATV-OS,20MG,2.12,\nD-ATV-OS,40MG,3.604,\n"
    ).encode()
    response = client.post(url, {"file": SimpleUploadedFile("c.csv", content)})
    assert response.status_code == 400
    assert "“40MG” is not a specification of item D-ATV-OS." in response.content.decode()
    content = content.replace(b"D-ATV-OS,40MG,3.604,\n", b"")
    response = client.post(url, {"file": SimpleUploadedFile("c.csv", content)})
    assert response.status_code == 200
    import re

    token = re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)
    done = client.post(url, {"token": token, "commit": "1"}, follow=True)
    assert "Imported c.csv: 2 new, 0 changed, 0 unchanged." in done.content.decode()
    assert Ceiling.objects.count() == 2
    round_.items.get().refresh_from_db()
    assert str(round_.items.get().reference_price) == "7.2700"
    template = client.get(reverse("procurement:ceiling-template", args=[round_.code]))
    rows = list(
        openpyxl.load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True)
    )
    assert rows[0][:3] == (
        "品种编码 (item code)",
        "规格编码 (specification code)",
        "最高有效申报价 (ceiling)",
    )


def test_round_page_shows_which_ceilings_are_missing_and_formats_prices(office):
    from decimal import Decimal

    from procurement.services import round_item_set_prices

    round_ = make_round(office=office, ceilings=False)
    round_item = round_.items.get()
    round_item_set_prices(
        round_item=round_item,
        ceilings={round_item.item.specifications.get(code="10MG"): Decimal("1234.5")},
    )
    html = client_for(office).get(reverse("procurement:round", args=[round_.code])).content.decode()
    assert '<td class="num">1,234.5000</td>' in html
    assert html.count("not set") == 1


def test_round_create_groups_the_item_and_province_checkboxes_in_fieldsets(office):
    data = _create_data(items=[], regions=[])
    html = client_for(office).post(reverse("procurement:round-create"), data).content.decode()
    for field_id, legend in (("id_items", "Procurement items"), ("id_regions", "Region scope")):
        fieldset = re.search(
            rf'<fieldset class="choice-group has-error" id="{field_id}" tabindex="-1"'
            rf' aria-describedby=" {field_id}-error">\s*<legend>{legend}',
            html,
        )
        assert fieldset, (field_id, html[:4000])
        # The summary's link leads to the group, and the error is inside it too.
        assert f'<a href="#{field_id}">{legend}: This field is required.</a>' in html
        assert f'<p class="field-error" id="{field_id}-error">This field is required.</p>' in html
    # Every checkbox has its own label.
    boxes = re.findall(r'<input type="checkbox" name="items" value="\d+" id="(id_items_\d+)"', html)
    assert len(boxes) == 3
    for box in boxes:
        assert f'<label for="{box}">' in html
