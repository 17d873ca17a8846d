"""The procurement document: published when bidding opens, versioned, public, rendered to
PDF in both languages; direct edits refused once it is published."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from procurement.models import Ceiling, RoundTransition
from procurement.services import (
    ceiling_import,
    round_add_items,
    round_item_set_prices,
    round_prices_set,
    round_update_timetable,
)
from tender.content import canonical_sha256
from tender.models import DocumentPdf, ProcurementDocumentVersion
from tender.services import AmendmentDraft, amendment_publish, document_pdf_render
from tests.procurement.factories import drug_item
from tests.tender.conftest import Published, client_for, publish_round

pytestmark = pytest.mark.django_db
D = Decimal


def test_opening_bidding_publishes_version_1_with_what_the_round_holds(
    published: Published,
) -> None:
    version = ProcurementDocumentVersion.objects.get(round=published.round)
    content = version.content
    assert version.number == 1 and version.amendment is None
    assert version.content_sha256 == canonical_sha256(content)
    assert content["round"]["code"] == published.round.code
    assert content["rule_set"]["periods"] == {
        "bid_preparation_days": 20,
        "amendment_notice_days": 15,
        "question_cutoff_days": 10,
        "objection_days": 3,
        "min_bidders_per_item": 0,  # a national drug rule: no minimum
    }
    atv = next(i for i in content["items"] if i["code"] == "D-ATV-OS")
    assert atv["reference_price"] == "7.0000"
    assert atv["pooled_demand"] == 120_000
    assert [(s["code"], s["ceiling"], s["pooled_demand"]) for s in atv["specifications"]] == [
        ("10MG", "2.5000", 0),
        ("20MG", "2.5000", 120_000),
    ]
    assert content["timetable"]["bid_deadline"].endswith("+08:00")
    note = RoundTransition.objects.filter(round=published.round).latest("id").note
    assert note.startswith("procurement document v1 published (SHA-256 ")


def test_the_pdfs_are_rendered_in_both_languages_from_the_version(
    published: Published, tmp_path: Path
) -> None:
    amendment_publish(
        round_=published.round,
        by=published.office,
        draft=AmendmentDraft(
            reason="20mg 最高有效申报价调整",
            reason_en="The 20 mg ceiling is corrected.",
            ceilings={(published.atv.pk, published.atv20.pk): D("2.2")},
        ),
    )
    version = ProcurementDocumentVersion.objects.get(round=published.round, number=2)
    assert document_pdf_render(version_id=version.pk) == 2
    assert document_pdf_render(version_id=version.pk) == 0  # idempotent
    texts = {}
    for pdf in DocumentPdf.objects.filter(version=version):
        path = tmp_path / f"{pdf.language}.pdf"
        path.write_bytes(bytes(pdf.content))
        texts[pdf.language] = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    code = published.round.code
    for text in texts.values():
        assert f"{code}-ZB-02" in text
        assert "2.2000" in text and "2.5000" in text  # the new ceiling, and the old in the notice
        assert "120,000" in text
        assert version.content_sha256[:32] in text.replace("\n", "").replace(" ", "")
    assert "招标文件" in texts["zh-hans"] and "补遗公告" in texts["zh-hans"]
    assert "Procurement document" in texts["en"] and "Amendment notice No. 1" in texts["en"]
    assert "The 20 mg ceiling is corrected." in texts["en"]
    # Served to anyone once rendered, with its hash.
    response = client_for(None).get(reverse("tender:document-pdf", args=[code, 2, "zh-hans"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["X-Content-SHA256"]
        == DocumentPdf.objects.get(version=version, language="zh-hans").sha256
    )


def test_a_pdf_not_rendered_yet_is_a_404_and_the_page_says_it_is_being_prepared(
    published: Published,
) -> None:
    code = published.round.code
    assert (
        client_for(None).get(reverse("tender:document-pdf", args=[code, 1, "en"])).status_code
        == 404
    )
    page = client_for(None).get(reverse("tender:round", args=[code])).content.decode()
    assert "being prepared" in page


def test_the_public_page_and_the_api_show_the_same_version(published: Published) -> None:
    code = published.round.code
    amendment_publish(
        round_=published.round,
        by=published.office,
        draft=AmendmentDraft(reason="参考价更正", reference_prices={published.clo.pk: D("12.5")}),
    )
    current = ProcurementDocumentVersion.objects.get(round=published.round, number=2)
    page = client_for(None).get(reverse("tender:round", args=[code])).content.decode()
    assert current.content_sha256 in page
    assert f"{code}-ZB-02" in page and f"{code}-ZB-01" in page
    assert "Amendment notice No. 1" in page and "12.5000" in page
    body = client_for(None).get(reverse("api-round-document", args=[code])).json()
    assert body["number"] == 2 and body["content_sha256"] == current.content_sha256
    assert [v["number"] for v in body["versions"]] == [2, 1]
    assert body["versions"][0]["amendment_number"] == 1
    notices = client_for(None).get(reverse("api-round-amendments", args=[code])).json()
    assert notices[0]["number"] == 1
    assert notices[0]["changes"][0] == {
        "kind": "reference_price",
        "field": "",
        "item_code": "D-CLO-OS",
        "specification_code": None,
        "old_value": "7.0000",
        "new_value": "12.5000",
        "material": False,
        "automatic": False,
    }
    notice = client_for(None, "zh-hans").get(reverse("tender:notice", args=[code, 1]))
    assert notice.status_code == 200
    assert "补遗公告" in notice.content.decode()


def test_an_unpublished_round_has_no_public_document(db: None) -> None:
    from tests.procurement.factories import make_round

    round_ = make_round(open_demand=True)
    assert client_for(None).get(reverse("tender:round", args=[round_.code])).status_code == 404
    assert (
        client_for(None).get(reverse("api-round-document", args=[round_.code])).status_code == 404
    )


# --- direct edits are refused after publication ----------------------------------------------

AMEND = (
    "through a numbered amendment, published to every bidder (Publish an amendment, on the "
    "round page)."
)


def test_direct_price_and_item_edits_are_refused_with_the_amendment_message(
    published: Published,
) -> None:
    expected = (
        f"The procurement document of round {published.round.code} is published: its items "
        "no longer change, and its ceilings only through a numbered amendment, published to "
        "every bidder (Publish an amendment, on the round page)."
    )
    with pytest.raises(ValidationError) as excinfo:
        round_item_set_prices(round_item=published.atv, ceilings={published.atv20: D("2.2")})
    assert excinfo.value.messages == [expected]
    with pytest.raises(ValidationError) as excinfo:
        round_add_items(round_=published.round, items=[drug_item("D-AML-OS", ("5MG",))])
    assert excinfo.value.messages == [expected]
    with pytest.raises(ValidationError) as excinfo:
        round_prices_set(
            round_=published.round, prices={published.atv: (None, {published.atv20: D("2.2")})}
        )
    assert excinfo.value.messages == [expected]
    # The prices page says it too, and nothing changed.
    client = client_for(published.office)
    response = client.post(
        reverse("procurement:round-prices", args=[published.round.code]),
        {f"ceil-{published.atv.pk}-{published.atv20.pk}": "2.2"},
        follow=True,
    )
    assert expected in response.content.decode()
    assert Ceiling.objects.get(
        round_item=published.atv, specification=published.atv20
    ).max_valid_bid_price == D("2.5000")


def test_the_ceiling_import_is_refused_with_the_amendment_message(published: Published) -> None:
    csv = "品种编码,规格编码,最高有效申报价\nD-ATV-OS,20MG,2.2\n".encode()
    with pytest.raises(ValidationError) as excinfo:
        ceiling_import(
            round_=published.round, data=csv, filename="c.csv", max_bytes=10_000, commit=False
        )
    assert "its ceilings only through a numbered amendment" in excinfo.value.messages[0]


@pytest.mark.parametrize("field", ["bid_deadline", "opening_at", "contract_starts_on"])
def test_direct_timetable_edits_are_refused_with_the_amendment_message(
    published: Published, field: str
) -> None:
    import datetime

    round_ = published.refresh()
    timetable = {
        f: getattr(round_, f)
        for f in ("bid_deadline", "opening_at", "objection_ends_at", "contract_starts_on")
    }
    timetable[field] = timetable[field] + datetime.timedelta(days=1)
    if field == "bid_deadline":
        timetable["opening_at"] += datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        round_update_timetable(round_=round_, by=published.office, timetable=timetable)
    assert excinfo.value.messages[0].endswith(AMEND)
    assert excinfo.value.messages[0].startswith(
        f"The procurement document of round {round_.code} is published: change "
    )


def test_the_round_page_offers_the_amendment_and_only_the_objection_period_directly(
    published: Published,
) -> None:
    body = (
        client_for(published.office)
        .get(reverse("procurement:round", args=[published.round.code]))
        .content.decode()
    )
    assert reverse("tender:amend", args=[published.round.code]) in body
    assert 'name="timetable-objection_ends_at"' in body
    assert 'name="timetable-bid_deadline"' in body  # shown, disabled
    assert body.count("disabled") >= 5


def test_two_rounds_number_their_versions_apart(db: None) -> None:
    first = publish_round(code="T-2026-A")
    second = publish_round(code="T-2026-B")
    assert list(
        ProcurementDocumentVersion.objects.order_by("round_id").values_list("round_id", "number")
    ) == [(first.round.pk, 1), (second.round.pk, 1)]
