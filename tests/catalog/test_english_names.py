"""English names of specifications, units, bidding units and provinces on English pages
and PDFs, with the registered Chinese name kept as secondary text; Chinese pages keep the
Chinese names."""

from __future__ import annotations

import subprocess
import tempfile
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from catalog.models import BiddingUnit, FormGroup, ProductKind, Specification
from catalog.services import item_upsert, specification_upsert
from catalog.spec_names import english_label, english_unit
from common.i18n import Names, display_name, join_names
from contracts import services as contract_services
from contracts.models import Contract
from reports import services as report_services
from tests.contracts.test_contract_specifications import _two_strength_round
from tests.factories import TEST_PASSWORD

D = Decimal


def test_the_english_label_is_rendered_from_the_structured_fields() -> None:
    def label(strength: str | None, pack: int, unit: str, fill: str | None = None) -> str:
        return english_label(
            strength_value=D(strength) if strength else None,
            strength_unit="mg",
            fill_volume_ml=D(fill) if fill else None,
            pack_count=pack,
            unit=unit,
            fallback="Hip system",
        )

    assert label("5.0000", 28, "片") == "5 mg × 28 tablets"
    assert label("0.2500", 7, "tablet") == "0.25 mg × 7 tablets"
    assert label("20", 14, "粒") == "20 mg × 14 capsules"
    assert label("15", 1, "支", fill="2.000") == "15 mg/2 ml"
    assert label("50", 1, "瓶") == "50 mg"
    assert label("10", 10, "盒") == "10 mg × 10 boxes"
    assert label(None, 1, "套") == "Hip system"
    assert english_unit("支") == "ampoule" and english_unit("贴", 2) == "patches"
    # An unknown unit is kept as it is, never guessed.
    assert english_unit("喷雾器") == "喷雾器"


def test_names_show_the_registered_chinese_as_secondary_text_in_english() -> None:
    names = Names("5mg×28片", "5 mg × 28 tablets")
    with translation.override("en"):
        html = display_name(names)
        # Non-breaking spaces keep each number with its unit in narrow cells.
        assert html == (
            '5\xa0mg × 28\xa0tablets <span class="secondary" lang="zh-Hans">5mg×28片</span>'
        )
        assert join_names(["Beijing", "Shanghai"]) == "Beijing, Shanghai"
    with translation.override("zh-hans"):
        assert display_name(names) == "5mg×28片"
        assert join_names(["北京市", "上海市"]) == "北京市、上海市"
    # Markup in a name is escaped.
    with translation.override("en"):
        assert "<b>" not in display_name(Names("<b>x</b>", "<b>y</b>"))


@pytest.mark.django_db
def test_upsert_stores_the_english_label_and_consumables_take_the_item_name() -> None:
    item, _ = item_upsert(
        code="T-AML",
        kind=ProductKind.DRUG,
        name="苯磺酸氨氯地平片",
        name_en="Amlodipine besylate tablets",
        generic_name="氨氯地平",
        form_group=FormGroup.ORAL_SOLID,
        unit_of_count="片",
        unit_of_count_en="tablet",
    )
    spec, _ = specification_upsert(
        item=item,
        code="5MG",
        label="5mg×28片",
        strength_value=D(5),
        strength_unit="mg",
        pack_count=28,
        is_representative=True,
    )
    assert Specification.objects.get(pk=spec.pk).label_en == "5 mg × 28 tablets"
    hip, _ = item_upsert(
        code="T-HIP",
        kind=ProductKind.CONSUMABLE,
        name="髋关节（陶瓷-陶瓷）",
        bidding_unit=BiddingUnit.HIP_CERAMIC_CERAMIC,
        unit_of_count="套",
    )
    unit, _ = specification_upsert(
        item=hip, code="UNIT", label="髋关节（陶瓷-陶瓷）", is_representative=True
    )
    # No English item name: the bidding unit's English name, and the unit from the table.
    assert unit.label_en == "Hip: ceramic-on-ceramic"
    with translation.override("en"):
        assert hip.display_unit == "set"
        assert str(display_name(hip)).startswith("Hip: ceramic-on-ceramic <span")
    with translation.override("zh-hans"):
        assert hip.display_unit == "套" and unit.display_label == "髋关节（陶瓷-陶瓷）"


def _pdf_text(content: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(content)
        f.flush()
        text = subprocess.run(
            ["pdftotext", f.name, "-"], capture_output=True, text=True, check=True
        ).stdout
    return "".join(text.split())  # cells wrap names over lines


def _squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.mark.django_db
def test_pages_and_pdfs_name_specifications_and_provinces_in_the_reader_language(
    django_capture_on_commit_callbacks,
) -> None:
    built = _two_strength_round(django_capture_on_commit_callbacks)
    item = built.round_item.item
    # Registered Chinese labels; the English ones are rendered from the fields.
    Specification.objects.filter(item=item, code="20mg").update(label="20mg×7片")
    Specification.objects.filter(item=item, code="40mg").update(label="40mg×7片")
    shanghai = Contract.objects.get(hospital=built.hospitals[2].organization)

    def page(language: str, url: str, username: str) -> str:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        assert client.login(username=username, password=TEST_PASSWORD)
        response = client.get(url)
        assert response.status_code == 200
        return response.content.decode().replace("\xa0", " ")

    contract_url = reverse("contracts:contract", args=[shanghai.pk])
    hospital = built.hospitals[2].username
    english = page("en", contract_url, hospital)
    assert "40 mg × 7 tablets" in english and "20 mg × 7 tablets" in english
    assert '<span class="secondary" lang="zh-Hans">40mg×7片</span>' in english
    assert "Shanghai" in english and "上海市" in english  # the province, Chinese secondary
    chinese = page("zh-hans", contract_url, hospital)
    assert "40mg×7片" in chinese and "上海市" in chinese
    # ("Asia/Shanghai" is the time zone named in the footer, not a province.)
    assert "tablets" not in chinese and ">Shanghai" not in chinese

    round_url = reverse("procurement:round", args=[built.round.code])
    english = page("en", round_url, built.office.username)
    assert "40 mg × 7 tablets" in english and "40mg×7片" in english
    chinese = page("zh-hans", round_url, built.office.username)
    assert "40mg×7片" in chinese and "mg × 7 tablets" not in chinese

    # The contract PDF in both languages.
    assert contract_services.contract_pdf_render(contract_id=shanghai.pk)
    shanghai.refresh_from_db()
    english = _pdf_text(shanghai.pdf_en.read())
    assert _squeeze("40 mg × 7 tablets") in english and "40mg×7片" in english
    assert "Shanghai" in english
    chinese = _pdf_text(shanghai.pdf_zh.read())
    assert "40mg×7片" in chinese and "上海市" in chinese and "tablets" not in chinese

    # The award-result PDF: winners table, provinces and the opening-record annex.
    docs = {
        lang: report_services.award_result_generate(round_id=built.round.pk, language=lang)
        for lang in ("en", "zh-hans")
    }
    english = _pdf_text(bytes(docs["en"].content))  # type: ignore[union-attr]
    assert english.count(_squeeze("40 mg × 7 tablets")) >= 2  # winners and annex
    assert "40mg×7片" in english
    assert "Beijing,Shanghai" in english  # provinces joined the English way
    chinese = _pdf_text(bytes(docs["zh-hans"].content))  # type: ignore[union-attr]
    assert "40mg×7片" in chinese and "北京市、上海市" in chinese
    assert "tablets" not in chinese


@pytest.mark.django_db
def test_rule_set_sources_and_menu_are_in_the_reader_language() -> None:
    from accounts.models import Organization
    from procurement.forms import RoundCreateForm
    from procurement.models import RuleSet
    from procurement.optimiser.presets import PRESETS
    from procurement.rule_labels import PRESET_SOURCES
    from procurement.services import rule_set_load_presets
    from tests.factories import user_of

    rule_set_load_presets()
    # Every ready-made rule set's source has a translated message.
    assert all(preset.source in PRESET_SOURCES for preset in PRESETS.values())
    # A database loaded before the source lost its reference to the design notes.
    RuleSet.objects.filter(name="national-drug-batch-2").update(
        source="batch 2 procurement document, table 2 (最多入围企业数); DESIGN.md §2.1"
    )
    office = user_of(Organization.Kind.OFFICE)
    batch2 = RuleSet.objects.get(name="national-drug-batch-2", version=1)

    def get(language: str, url: str) -> str:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        assert client.login(username=office.username, password=TEST_PASSWORD)
        return client.get(url).content.decode()

    for url in (
        reverse("procurement:rule-sets"),
        reverse("procurement:rule-set", args=[batch2.pk]),
    ):
        chinese = get("zh-hans", url)
        assert "第二批集中采购文件，表2（最多入围企业数）" in chinese
        assert "DESIGN.md" not in chinese and "procurement document, table" not in chinese
        english = get("en", url)
        assert "Batch 2 procurement document, table 2 (maximum number of winners)" in english
        assert "DESIGN.md" not in english
    # The description of a ready-made rule set names it by its title, not its slug.
    assert "national-drug-batch-2 (2019-12)" not in get(
        "zh-hans", reverse("procurement:rule-set", args=[batch2.pk])
    )
    # The rule-set menu of the round form shows titles, not slugs.
    with translation.override("zh-hans"):
        field = RoundCreateForm().fields["rule_set"]
        labels = [str(label) for _value, label in field.choices]  # type: ignore[attr-defined]
    assert "第二批国家组织药品集中采购 v1" in labels, labels
    assert not any("national-drug-batch" in label for label in labels), labels
