"""Open data: an OCDS 1.1 release package per round (docs/reports.md has the mapping).

One compiled release per round: parties, the tender with its items, the bids (bids
extension) once the bids are opened, one award per winning manufacturer, and the
contracts (with their documents) when they exist. Money and quantities are exact: the
document is built with ``Decimal`` and serialized with the decimal text itself as the JSON
number, never through a float.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Max, QuerySet
from django.utils import timezone, translation

from accounts.models import Organization
from awards.models import (
    BidResult,
    EvaluationRun,
    ItemAward,
    ProvinceAllocation,
    ProvinceSelection,
)
from awards.selectors import FINAL, provisional_rounds
from bidding.models import OpenedBid, Opening
from common.money import round_fen
from contracts.models import Contract, ContractAmendment
from procurement.models import Round, RoundItem
from reports import selectors

SCHEMA_DIR = Path(__file__).resolve().parent / "ocds_schema"
BIDS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/"
    "v1.1.5/extension.json"
)
CURRENCY = "CNY"
USCC_SCHEME = "CN-USCC"  # unified social credit code, GB 32100-2015


def ocid_prefix() -> str:
    """The publisher's OCID prefix (read when used, not at import)."""
    return str(getattr(settings, "JICAI_OCID_PREFIX", "ocds-jicai0"))


def ocid(round_: Round) -> str:
    return f"{ocid_prefix()}-{round_.code}"


def _when(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return timezone.localtime(moment, timezone.get_fixed_timezone(480)).isoformat()


def _day(day: datetime.date) -> str:
    moment = datetime.datetime.combine(day, datetime.time(0, 0))
    return moment.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=8))).isoformat()


def _party_id(org: Organization) -> str:
    return f"{USCC_SCHEME}-{org.social_credit_code}"


def _ref(org: Organization) -> dict[str, Any]:
    return {"id": _party_id(org), "name": org.name}


def _money(amount: Decimal) -> dict[str, Any]:
    return {"amount": amount, "currency": CURRENCY}


class _Parties:
    """Every organization a release names, once, with all its roles (OCDS ``parties``).

    Called with an organization and a role, it records both and returns the reference
    that the release's sections carry (``{"id", "name"}``).
    """

    def __init__(self) -> None:
        self.entries: dict[int, dict[str, Any]] = {}

    def __call__(self, org: Organization, role: str) -> dict[str, Any]:
        entry = self.entries.get(org.pk)
        if entry is None:
            entry = self.entries[org.pk] = {
                "id": _party_id(org),
                "name": org.name,
                "identifier": {
                    "scheme": USCC_SCHEME,
                    "id": org.social_credit_code,
                    "legalName": org.name,
                },
                "address": {"region": org.region.name_zh, "countryName": "中国"},
                "roles": [],
            }
            if org.name_en:
                entry["details"] = {"nameEn": org.name_en}
        if role not in entry["roles"]:
            entry["roles"].append(role)
        return _ref(org)

    def listed(self) -> list[dict[str, Any]]:
        return sorted(self.entries.values(), key=lambda p: p["id"])


def release_package(*, round_: Round, run: EvaluationRun | None, uri: str) -> dict[str, Any]:
    """The release package of ``round_`` (``run`` = the official run's source, if any)."""
    release, last = main_release(round_=round_, run=run, with_contracts=True)
    return package_head(round_=round_, uri=uri, published=last) | {"releases": [release]}


def package_head(*, round_: Round, uri: str, published: datetime.datetime) -> dict[str, Any]:
    """A release package's fields other than ``releases``."""
    return {
        "uri": uri,
        "version": "1.1",
        "extensions": [BIDS_EXTENSION],
        "publishedDate": _when(published),
        "publisher": {"name": round_.office.name},
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
    }


def main_release(
    *, round_: Round, run: EvaluationRun | None, with_contracts: bool
) -> tuple[dict[str, Any], datetime.datetime]:
    """The round's release (tender, bids, awards; its contracts too when
    ``with_contracts``) and the moment it dates from."""
    party = _Parties()
    office = party(round_.office, "procuringEntity")
    party(round_.office, "buyer")
    tender = _tender(round_=round_, run=run, office=office)
    release: dict[str, Any] = {
        "ocid": ocid(round_),
        "id": "",
        "date": "",
        "tag": ["tender"],
        "initiationType": "tender",
        "language": "zh",
        "buyer": office,
        "tender": tender,
    }
    dates = [round_.created_at]
    opening = Opening.objects.filter(round=round_).first()
    if opening is not None:
        release["bids"] = _bids(opening=opening, tender=tender, party=party)
        dates.append(opening.opened_at)
    if run is not None and round_.status in {*FINAL, Round.Status.OBJECTION}:
        dates += _award_sections(
            release, round_=round_, run=run, party=party, with_contracts=with_contracts
        )
    release["parties"] = party.listed()
    last = max(d for d in dates if d is not None)
    release["date"] = _when(last)
    release["id"] = release_id(release, round_=round_, last=last)
    return release, last


def contract_releases(*, round_: Round, per_release: int) -> Iterator[tuple[dict[str, Any], int]]:
    """The round's contracts as releases of ``per_release`` contracts each (tag
    ``contract``, by contract number), each with the parties it names, and the number of
    contracts in it. The contracts are read ``per_release`` at a time (by number, after
    the last one read), so memory holds one release whatever the round's size."""
    after = ""
    while True:
        chunk = list(
            _contract_rows(round_).filter(number__gt=after).order_by("number")[:per_release]
        )
        if not chunk:
            return
        after = chunk[-1].number
        party = _Parties()
        contracts = [_contract_entry(c, round_=round_, party=party) for c in chunk]
        moments = [
            m
            for c in chunk
            for m in (c.created_at, c.hospital_confirmed_at, c.manufacturer_confirmed_at)
            if m is not None
        ]
        amended = ContractAmendment.objects.filter(contract__in=[c.pk for c in chunk]).aggregate(
            at=Max("at")
        )["at"]
        if amended is not None:
            moments.append(amended)
        last = max(moments)
        release: dict[str, Any] = {
            "ocid": ocid(round_),
            "id": "",
            "date": _when(last),
            "tag": ["contract"],
            "initiationType": "tender",
            "language": "zh",
            "parties": party.listed(),
            "contracts": contracts,
        }
        release["id"] = release_id(release, round_=round_, last=last)
        yield release, len(chunk)


def _tender(*, round_: Round, run: EvaluationRun | None, office: dict[str, Any]) -> dict[str, Any]:
    """The tender: the round, its items with their ceilings and pooled demand, its dates."""
    round_items = list(
        RoundItem.objects.filter(round=round_).select_related("item").order_by("item__code")
    )
    ceilings = selectors.item_ceilings(round_=round_, run=run)
    awards_by_item = {a.round_item_id: a for a in ItemAward.objects.filter(run=run)} if run else {}
    items = []
    for ri in round_items:
        entry: dict[str, Any] = {
            "id": ri.item.code,
            "description": ri.item.name,
            "unit": {"name": ri.item.unit_of_count},
        }
        if ri.pk in ceilings:
            # The maximum valid bid price per unit (最高有效申报价).
            entry["unit"]["value"] = _money(ceilings[ri.pk])
        award = awards_by_item.get(ri.pk)
        if award is not None:
            entry["quantity"] = award.pooled_demand
        items.append(entry)
    final = round_.status in FINAL
    return {
        "id": round_.code,
        "title": round_.name,
        "status": "complete"
        if final
        else ("cancelled" if round_.status == "cancelled" else "active"),
        "procuringEntity": office,
        "items": items,
        "procurementMethod": "open",
        "procurementMethodDetails": "带量采购 (volume-based procurement)",
        "mainProcurementCategory": "goods",
        "awardCriteria": "priceOnly",
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {
            "startDate": _when(round_.demand_closes_at),
            "endDate": _when(round_.bid_deadline),
        },
        "awardPeriod": {"startDate": _when(round_.opening_at)},
        "contractPeriod": {"startDate": _day(round_.contract_starts_on)},
    }


def _bids(*, opening: Opening, tender: dict[str, Any], party: _Parties) -> dict[str, Any]:
    """The opened bids (OCDS bids extension); the tender gets its tenderers."""
    opened = list(
        OpenedBid.objects.filter(opening=opening)
        .select_related("manufacturer__region", "round_item__item", "version")
        .order_by("round_item__item__code", "unit_comparable_price", "pk")
    )
    details = []
    for o in opened:
        bid: dict[str, Any] = {
            "id": str(o.pk),
            "date": _when(o.version.server_time),
            "status": "valid" if o.validity == OpenedBid.Validity.VALID else "disqualified",
            "tenderers": [party(o.manufacturer, "tenderer")],
            "items": [
                {
                    "id": o.round_item.item.code,
                    "description": o.round_item.item.name,
                    "unit": {"name": o.round_item.item.unit_of_count}
                    | ({"value": _money(o.unit_price)} if o.unit_price is not None else {}),
                }
            ],
        }
        details.append(bid)
    tender["numberOfTenderers"] = len({o.manufacturer_id for o in opened})
    tender["tenderers"] = sorted(
        {o.manufacturer_id: _ref(o.manufacturer) for o in opened}.values(),
        key=lambda r: r["id"],
    )
    return {
        "statistics": [
            {
                "id": "bids",
                "measure": "bids",
                "value": len(opened),
                "date": _when(opening.opened_at),
            },
            {
                "id": "validBids",
                "measure": "validBids",
                "value": sum(1 for o in opened if o.validity == OpenedBid.Validity.VALID),
                "date": _when(opening.opened_at),
            },
        ],
        "details": details,
    }


def _award_sections(
    release: dict[str, Any],
    *,
    round_: Round,
    run: EvaluationRun,
    party: _Parties,
    with_contracts: bool = True,
) -> list[datetime.datetime]:
    """Add the awards (and the contracts, once drawn up) to ``release``; returns the
    moments they changed, which date the release."""
    dates: list[datetime.datetime] = []
    final = round_.status in FINAL
    with translation.override("zh-hans"):  # the release's language
        provisional = provisional_rounds(round_ids=[round_.pk]).get(round_.pk, "")
    release["awards"] = _awards(
        round_=round_, run=run, party=party, final=final, provisional=provisional
    )
    release["tag"] = ["award"]
    finalized = selectors._finalized_at(round_)
    if finalized:
        dates.append(finalized)
    if not provisional:
        # A drug round's allocation becomes final when the province selection's run
        # is done: a new release (date and id) although the round's status is the same.
        dates.extend(
            moment
            for moment in ProvinceSelection.objects.filter(round=round_).values_list(
                "result_run__finished_at", flat=True
            )
            if moment is not None
        )
    contracts = _contracts(round_=round_, party=party) if with_contracts else []
    if contracts:
        release["contracts"] = contracts
        release["tag"] = ["award", "contract"]
        dates.extend(_contracts_changed_at(round_))
    return dates


def release_id(release: dict[str, Any], *, round_: Round, last: datetime.datetime) -> str:
    """``<ocid>-<round status>-<date, to the second>-<content digest>``.

    OCDS wants a release id unique within its ocid. The status and the date keep ids
    readable and in order; the digest (the first 16 hex digits of the SHA-256 of the
    release without its id, keys sorted, decimals exact) tells apart two releases made
    within the same second (a contract confirmed right after the selection's run, say),
    and the same content always gets the same id, however often it is requested.
    """
    content = {key: value for key, value in release.items() if key != "id"}
    digest = hashlib.sha256(dumps(content, indent=None, sort_keys=True).encode()).hexdigest()
    return f"{ocid(round_)}-{round_.status}-{int(last.timestamp())}-{digest[:16]}"


def _contracts_changed_at(round_: Round) -> list[datetime.datetime]:
    """When the round's contracts last changed what the release shows of them: drawn up,
    confirmed, amended (the release date is the latest such moment)."""
    moments = Contract.objects.filter(round=round_).aggregate(
        created=Max("created_at"),
        hospital=Max("hospital_confirmed_at"),
        manufacturer=Max("manufacturer_confirmed_at"),
    )
    moments["amended"] = ContractAmendment.objects.filter(contract__round=round_).aggregate(
        at=Max("at")
    )["at"]
    return [moment for moment in moments.values() if moment is not None]


def _awards(
    *, round_: Round, run: EvaluationRun, party: Any, final: bool, provisional: str
) -> list[dict[str, Any]]:
    """One award per winning manufacturer: its items, agreed volumes and award prices.

    Status (OCDS 1.1 awardStatus codelist): ``active`` ("made, and currently in force")
    only for a winner of a final award whose allocation is final; ``pending`` ("proposed,
    but not yet in force") while the figures are provisional (``provisional_rounds``:
    proposed winners in the objection period, or a drug round's provinces before
    province selection has finished), with the reason as the award's description."""
    terms = {a.round_item_id: a.term_years for a in ItemAward.objects.filter(run=run)}
    allocations = (
        ProvinceAllocation.objects.filter(run=run)
        .select_related("round_item__item", "manufacturer__region")
        .order_by("manufacturer_id", "round_item__item__code", "region__code")
    )
    by_maker: dict[int, dict[str, Any]] = {}
    lines: dict[tuple[int, int, Decimal], int] = defaultdict(int)
    bids: dict[int, set[int]] = defaultdict(set)
    for a in allocations:
        by_maker.setdefault(a.manufacturer_id, {"org": a.manufacturer, "items": {}})
        by_maker[a.manufacturer_id]["items"][a.round_item_id] = a.round_item
        lines[(a.manufacturer_id, a.round_item_id, a.unit_price)] += a.quantity
        bids[a.manufacturer_id].add(a.opened_bid_id)
    winners = set(
        BidResult.objects.filter(run=run, outcome=BidResult.Outcome.WON).values_list(
            "manufacturer_id", flat=True
        )
    )
    finalized = selectors._finalized_at(round_)
    out = []
    for maker_id in sorted(by_maker):
        org = by_maker[maker_id]["org"]
        items = []
        total = Decimal(0)
        longest = 0
        for (m, ri_id, price), quantity in sorted(
            lines.items(), key=lambda kv: (kv[0][1], kv[0][2])
        ):
            if m != maker_id:
                continue
            ri = by_maker[maker_id]["items"][ri_id]
            total += price * quantity
            longest = max(longest, terms.get(ri_id) or 0)
            items.append(
                {
                    "id": f"{ri.item.code}-{price.normalize()}",
                    "description": ri.item.name,
                    "quantity": quantity,
                    "unit": {"name": ri.item.unit_of_count, "value": _money(price)},
                }
            )
        award: dict[str, Any] = {
            "id": f"{round_.code}-{_party_id(org)}",
            "title": org.name,
            "status": "active" if final and not provisional and maker_id in winners else "pending",
            "date": _when(finalized),
            "value": _money(round_fen(total)),
            "suppliers": [party(org, "supplier")],
            "items": items,
            "relatedBids": [str(b) for b in sorted(bids[maker_id])],
            "contractPeriod": {"startDate": _day(round_.contract_starts_on)},
        }
        if provisional:
            award["description"] = provisional
        if longest:
            end = round_.contract_starts_on.replace(year=round_.contract_starts_on.year + longest)
            award["contractPeriod"]["endDate"] = _day(end - datetime.timedelta(days=1))
        out.append(award)
    return out


def _contracts(*, round_: Round, party: Any) -> list[dict[str, Any]]:
    """The round's contracts (hospital x winner), when the contracts app has made them."""
    return [
        _contract_entry(c, round_=round_, party=party)
        for c in _contract_rows(round_).order_by("number")
    ]


def _contract_rows(round_: Round) -> QuerySet[Contract]:
    return Contract.objects.filter(round=round_).select_related(
        "hospital__region", "manufacturer__region"
    )


def _contract_entry(c: Contract, *, round_: Round, party: Any) -> dict[str, Any]:
    """One contract as OCDS shows it; its buyer and supplier are added to ``party``."""
    confirmed = c.status == Contract.Status.CONFIRMED
    entry: dict[str, Any] = {
        "id": c.number,
        "awardID": f"{round_.code}-{_party_id(c.manufacturer)}",
        "title": f"{c.hospital.name} / {c.manufacturer.name}",
        "status": "active" if confirmed else "pending",
        "value": _money(c.total),
        "period": {"startDate": _day(c.starts_on)},
        "buyer": party(c.hospital, "buyer"),
    }
    party(c.manufacturer, "supplier")
    if confirmed and c.manufacturer_confirmed_at:
        entry["dateSigned"] = _when(c.manufacturer_confirmed_at)
    documents = []
    for language, digest in (("zh", c.pdf_zh_sha256), ("en", c.pdf_en_sha256)):
        if digest:
            documents.append(
                {
                    "id": f"{c.number}-{language}",
                    "documentType": "contractSigned" if confirmed else "contractDraft",
                    "title": f"{c.number} ({language})",
                    "description": f"SHA-256 {digest}",
                    "format": "application/pdf",
                    "language": language,
                }
            )
    if documents:
        entry["documents"] = documents
    return entry


# --- serialization and validation ---------------------------------------------------------

_TOKEN = re.compile(r'"\\u0000dec:([0-9eE+\-.]+)\\u0000"')


def dumps(document: dict[str, Any], *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """JSON text with every Decimal written as its exact decimal number."""

    # A Decimal becomes a string token "\x00dec:<digits>\x00" that json escapes as
    # "\\u0000dec:...\\u0000"; the tokens are then replaced by the bare number. Stored text
    # holds no NUL (PostgreSQL refuses it), so no data string can look like a token.
    def default(value: object) -> object:
        if isinstance(value, Decimal):
            return f"\u0000dec:{value}\u0000"
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(
        document, ensure_ascii=False, indent=indent, default=default, sort_keys=sort_keys
    )
    return _TOKEN.sub(lambda m: m.group(1), text)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


@cache
def _schemas() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    package = json.loads((SCHEMA_DIR / "release-package-schema.json").read_text())
    core = json.loads((SCHEMA_DIR / "release-schema.json").read_text())
    extended = json.loads((SCHEMA_DIR / "release-schema-with-extensions.json").read_text())
    # The extended schema comes from a PPP profile fixture that narrows initiationType to
    # "ppp"; restore the core codelist (["tender"]), the one change we make (README).
    extended["properties"]["initiationType"] = core["properties"]["initiationType"]
    return package, core, extended


def validation_errors(document: dict[str, Any]) -> list[str]:
    """Every schema error of a release package (empty when valid); no URL is fetched.

    1. The package against release-package-schema.json (OCDS 1.1.5), its ``releases``
       items resolved to the core release schema (OCDS 1.1, vendored).
    2. Each release against the release schema with extensions applied (bids extension).
    """
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    package, core, extended = _schemas()
    core_uri = package["properties"]["releases"]["items"]["$ref"]
    registry: Registry[Any] = Registry().with_resources(
        [
            (core_uri, Resource.from_contents(core, default_specification=DRAFT4)),
            (core["id"], Resource.from_contents(core, default_specification=DRAFT4)),
            (package["id"], Resource.from_contents(package, default_specification=DRAFT4)),
        ]
    )
    errors = [
        f"package: {'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in Draft4Validator(package, registry=registry).iter_errors(document)
    ]
    extended_registry: Registry[Any] = Registry().with_resource(
        extended["id"], Resource.from_contents(extended, default_specification=DRAFT4)
    )
    validator = Draft4Validator(extended, registry=extended_registry)
    for index, release in enumerate(document.get("releases", [])):
        errors.extend(
            f"release {index}: {'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(release)
        )
    return errors
