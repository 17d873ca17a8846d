"""A reference implementation of execution progress, for the tests only: every current
contract line read into Python and totalled there (``contracts.progress``). The pages and
the API compute the same figures with aggregate queries (``contracts.selectors``); the
tests check them against this, line by line and group by group."""

from __future__ import annotations

import datetime

from django.db.models import F, QuerySet, Sum

from accounts.models import Organization, Region
from contracts.models import Contract, ContractLine, Purchase
from contracts.progress import Progress, combine, line_progress
from contracts.selectors import LineProgress, Named
from procurement.models import RoundItem


def progress_lines(*, contracts: QuerySet[Contract], today: datetime.date) -> list[LineProgress]:
    """Every current contract line of ``contracts`` with its bought, agreed and pro-rata
    figures (``contracts.progress``).

    Read as plain values, not model instances, with the names fetched once per hospital,
    manufacturer, item and province: a national round has about a million lines.
    """
    lines = list(
        ContractLine.objects.filter(contract__in=contracts, version=F("contract__current_version"))
        .order_by("contract__number", "round_item__item__code")
        .values_list(
            "contract_id",
            "contract__number",
            "contract__hospital_id",
            "contract__manufacturer_id",
            "round_item_id",
            "region_id",
            "quantity",
            "starts_on",
            "ends_on",
        )
        .iterator(chunk_size=20_000)
    )
    bought = {
        (c, i): q
        for c, i, q in Purchase.objects.filter(contract__in=contracts)
        .values_list("contract_id", "round_item_id")
        .annotate(q=Sum("quantity"))
        .values_list("contract_id", "round_item_id", "q")
    }
    regions = {r.pk: Named(r.pk, r.code, r.name_zh, r.name_en) for r in Region.objects.all()}
    org_ids = {line[2] for line in lines} | {line[3] for line in lines}
    orgs = {
        pk: Named(
            pk,
            code,
            name,
            name_en,
            regions[region_id].display_name if region_id in regions else "",
        )
        for pk, code, name, name_en, region_id in Organization.objects.filter(
            pk__in=org_ids
        ).values_list("pk", "social_credit_code", "name", "name_en", "region_id")
    }
    items = {
        pk: Named(pk, code, name, name_en)
        for pk, code, name, name_en in RoundItem.objects.filter(
            pk__in={line[4] for line in lines}
        ).values_list("pk", "item__code", "item__name", "item__name_en")
    }
    return [
        LineProgress(
            contract_id=contract_id,
            contract_number=number,
            hospital=orgs[hospital_id],
            manufacturer=orgs[manufacturer_id],
            item=items[item_id],
            region=regions[region_id],
            progress=line_progress(
                agreed=quantity,
                bought=bought.get((contract_id, item_id), 0),
                starts_on=starts_on,
                ends_on=ends_on,
                today=today,
            ),
        )
        for (
            contract_id,
            number,
            hospital_id,
            manufacturer_id,
            item_id,
            region_id,
            quantity,
            starts_on,
            ends_on,
        ) in lines
    ]


def progress_by(rows: list[LineProgress], key: str) -> list[tuple[Named, Progress]]:
    """Totals per ``hospital``, ``manufacturer``, ``item`` or ``region``, by code."""
    groups: dict[int, tuple[Named, list[Progress]]] = {}
    for row in rows:
        obj: Named = getattr(row, key)
        groups.setdefault(obj.pk, (obj, []))[1].append(row.progress)
    return sorted(
        ((obj, combine(parts)) for obj, parts in groups.values()), key=lambda g: g[0].code
    )


def behind_schedule_hospitals(*, rows: list[LineProgress]) -> list[tuple[Named, Progress]]:
    """Hospitals whose purchases, over all their lines, are behind the pro-rata schedule."""
    return sorted(
        (
            (hospital, progress)
            for hospital, progress in progress_by(rows, "hospital")
            if progress.behind
        ),
        key=lambda pair: -pair[1].shortfall,
    )
