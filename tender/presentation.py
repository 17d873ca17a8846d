"""A document version's stored content made readable in one language: what the public
page, the notice page and the PDFs print. Everything comes from the version's content (or
an amendment's stored change lines), so each shows that version as it was published."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from procurement.models import Round
from procurement.periods import PERIODS
from procurement.rule_labels import rule_kind_label, rule_set_title
from tender.changes import CHANGE_RULES, ChangeKind
from tender.models import Amendment, ProcurementDocumentVersion


def _timetable_label(field: str) -> str:
    return {
        "demand_opens_at": _("Demand declaration opens"),
        "demand_closes_at": _("Demand declaration closes"),
        "bid_deadline": _("Bid deadline"),
        "opening_at": _("Bid opening"),
        "objection_ends_at": _("Objection period ends"),
        "contract_starts_on": _("Contract start"),
    }[field]


def _bilingual(chinese: str, english: str) -> str:
    """The English text on English pages when there is one, the Chinese otherwise."""
    if translation.get_language() == "en" and english:
        return english
    return chinese


def moment_shown(text: str) -> str:
    """A stored timetable value (ISO) as pages show it: China Standard Time to the minute,
    or a date."""
    if "T" not in text:
        day = parse_date(text)
        return day.isoformat() if day is not None else text
    moment = parse_datetime(text)
    if moment is None or timezone.is_naive(moment):
        return text
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


@dataclass(frozen=True)
class ChangeLine:
    what: str
    old: str
    new: str
    material: bool
    automatic: bool
    numeric: bool = False  # a price: right-aligned like every figure


@dataclass(frozen=True)
class NoticeView:
    number: int
    published_at: datetime.datetime
    reason: str
    material: bool
    changes: list[ChangeLine]


@dataclass(frozen=True)
class SpecificationView:
    code: str
    label: str
    representative: bool
    ceiling: str | None
    pooled_demand: int


@dataclass(frozen=True)
class ItemView:
    code: str
    name: str
    unit: str
    reference_price: str | None
    pooled_demand: int
    specifications: list[SpecificationView]


@dataclass(frozen=True)
class DocumentView:
    round_code: str
    round_name: str
    office: str
    kind: str
    regions: str
    number: int
    document_number: str
    published_at: datetime.datetime
    sha256: str
    rule_set: str
    rule_kind: str
    parameters: list[tuple[str, str]]
    periods: list[tuple[str, int, str]]
    timetable: list[tuple[str, str]]
    items: list[ItemView]
    notices: list[NoticeView]

    @property
    def running_title(self) -> str:
        """The PDF's running header, safe inside a CSS string in a ``<style>`` element (so
        not HTML-escaped: quotes, backslashes and angle brackets are CSS escapes)."""
        text = f"{self.document_number} {self.round_name}"
        for character, escape in (("\\", "\\5c "), ('"', "\\22 "), ("<", "\\3c "), (">", "\\3e ")):
            text = text.replace(character, escape)
        return mark_safe(text.replace("\n", " "))  # noqa: S308 - escaped for CSS above


def document_number(round_code: str, number: int) -> str:
    """The document's reference, printed on its cover: round code, ZB (招标), version."""
    return f"{round_code}-ZB-{number:02d}"


def _change_what(change: dict[str, Any], names: dict[str, str]) -> str:
    rule = CHANGE_RULES[(change["kind"], change["field"])]
    label = str(rule.label)
    if change["item"] is None:
        return label
    item = f"{change['item']} {names.get(change['item'], '')}".strip()
    if change.get("specification_label"):
        return f"{item} · {change['specification_label']}: {label}"
    return f"{item}: {label}"


def _shown_value(value: str) -> str:
    return value or "—"  # "not set" (a ceiling set for the first time)


def notice_view(notice: dict[str, Any], names: dict[str, str]) -> NoticeView:
    """An amendment as its version's content stores it, in the active language."""
    published = parse_datetime(notice["published_at"])
    assert published is not None
    return NoticeView(
        number=notice["number"],
        published_at=published,
        reason=_bilingual(notice["reason"], notice["reason_en"]),
        material=notice["material"],
        changes=[
            ChangeLine(
                what=_change_what(change, names),
                old=_shown_value(change["old"]),
                new=_shown_value(change["new"]),
                material=change["material"],
                automatic=change["automatic"],
                numeric=change["kind"] != ChangeKind.TIMETABLE,
            )
            for change in notice["changes"]
        ],
    )


def amendment_notice(amendment: Amendment) -> NoticeView:
    """A published amendment (from its stored change lines) in the active language."""
    changes: list[dict[str, Any]] = [
        {
            "kind": c.kind,
            "field": c.field,
            "item": c.round_item.item.code if c.round_item else None,
            "specification_label": c.specification.label if c.specification else None,
            "old": c.old_value,
            "new": c.new_value,
            "material": c.material,
            "automatic": c.automatic,
        }
        for c in amendment.changes.all()
    ]
    names = {
        c.round_item.item.code: c.round_item.item.display_name
        for c in amendment.changes.all()
        if c.round_item is not None
    }
    return NoticeView(
        number=amendment.number,
        published_at=amendment.published_at,
        reason=amendment.display_reason,
        material=amendment.material,
        changes=[
            ChangeLine(
                what=_change_what(change, names),
                old=_shown_value(change["old"]),
                new=_shown_value(change["new"]),
                material=change["material"],
                automatic=change["automatic"],
                numeric=change["kind"] != ChangeKind.TIMETABLE,
            )
            for change in changes
        ],
    )


def _parameters(parameters: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The rule set's parameters flattened to (path, value) rows, values as plain text."""
    rows: list[tuple[str, str]] = []
    for key, value in parameters.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _parameters(value, f"{path}.")
        elif isinstance(value, list):
            rows.append((path, ", ".join(str(v) for v in value)))
        elif value is None or value == {}:
            rows.append((path, "—"))
        elif isinstance(value, str):
            rows.append((path, value))
        else:
            rows.append((path, json.dumps(value, ensure_ascii=False)))
    return rows


def document_view(version: ProcurementDocumentVersion, *, language: str) -> DocumentView:
    """The version in ``language`` (zh-hans or en)."""
    content = version.content
    with translation.override(language):
        round_info = content["round"]
        items = [
            ItemView(
                code=item["code"],
                name=_bilingual(item["name"], item["name_en"]),
                unit=_bilingual(item["unit"], item["unit_en"]),
                reference_price=item["reference_price"],
                pooled_demand=item["pooled_demand"],
                specifications=[SpecificationView(**spec) for spec in item["specifications"]],
            )
            for item in content["items"]
        ]
        names = {item.code: item.name for item in items}
        rule_set = content["rule_set"]
        return DocumentView(
            round_code=round_info["code"],
            round_name=_bilingual(round_info["name"], round_info["name_en"]),
            office=_bilingual(round_info["office"]["name"], round_info["office"]["name_en"]),
            kind=str(Round.Kind(round_info["kind"]).label),
            regions=", ".join(_bilingual(r["name"], r["name_en"]) for r in round_info["regions"]),
            number=version.number,
            document_number=document_number(round_info["code"], version.number),
            published_at=version.published_at,
            sha256=version.content_sha256,
            rule_set=f"{rule_set_title(rule_set['name'])} v{rule_set['version']}",
            rule_kind=rule_kind_label(rule_set["kind"]),
            parameters=_parameters(rule_set["parameters"]),
            periods=[
                (str(PERIODS[name].label), days, str(PERIODS[name].source))
                for name, days in rule_set["periods"].items()
                if name in PERIODS
            ],
            timetable=[
                (_timetable_label(field), moment_shown(value))
                for field, value in content["timetable"].items()
            ],
            items=items,
            notices=[notice_view(n, names) for n in content["amendments"]],
        )
