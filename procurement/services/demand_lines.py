"""Demand lines resolved: codes to ids, every line checked, with vectorised pandas
operations (a national file has a million lines; no query and no Python loop per line
except to word the errors)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from accounts.models import Organization
from catalog.models import Product, Specification
from common.spreadsheets import ROW, RowError, duplicate_errors
from procurement.models import Round, RoundItem

Label = Callable[[str], str]


def demand_key(round_kind: str) -> list[str]:
    """The columns naming one declared line: per specification (drugs) or product."""
    target = "specification_id" if round_kind == Round.Kind.DRUGS else "product_id"
    return ["hospital_id", "round_item_id", target]


def demand_resolve(
    *,
    round_: Round,
    frame: pd.DataFrame,
    hospital: Organization | None,
    labels: dict[str, str],
) -> tuple[pd.DataFrame, list[RowError], int]:
    """Resolve codes to ids and check every line. Returns (lines, errors, skipped)."""

    def label(key: str) -> str:
        return labels.get(key, key)

    # A blank quantity means "nothing to declare on this line" (pre-filled templates list
    # every line); it is skipped, not an error. Quantities that failed conversion have
    # their own error already.
    blank = frame["quantity_raw"] == ""
    skipped = int(blank.sum())
    frame = frame[~blank].reset_index(drop=True)
    if hospital is not None:
        errors = _own_hospital(frame, hospital=hospital, label=label)
    else:
        errors = _hospitals_in_scope(frame, round_=round_, label=label)
    errors += _round_items(frame, round_=round_, label=label)
    if round_.kind == Round.Kind.DRUGS:
        errors += _specifications(frame, round_=round_, label=label)
    else:
        errors += _products(frame, round_=round_, label=label)
    # Duplicates: the same line twice in one submission (after codes were resolved).
    key = demand_key(round_.kind)
    complete = frame[key].notna().all(axis=1)
    errors += duplicate_errors(
        frame.loc[complete, [ROW, *key]],
        key,
        labels=[
            label("hospital_code") if hospital is None else "",
            label("item_code"),
            label(
                "specification_code" if round_.kind == Round.Kind.DRUGS else "registration_number"
            ),
        ],
    )
    return frame, errors, skipped


def _own_hospital(frame: pd.DataFrame, *, hospital: Organization, label: Label) -> list[RowError]:
    """A hospital declares only for itself: another hospital's code is refused."""
    errors = []
    codes = frame["hospital_code"].fillna("")
    other = (codes != "") & (codes != hospital.social_credit_code)
    for row, code in zip(frame.loc[other, ROW], codes[other], strict=True):
        errors.append(
            RowError(
                int(row),
                label("hospital_code"),
                _(
                    "“%(code)s” is not your hospital's code (%(own)s); a hospital declares "
                    "only for itself."
                )
                % {"code": code, "own": hospital.social_credit_code},
            )
        )
    frame["hospital_id"] = hospital.pk
    return errors


def _hospitals_in_scope(frame: pd.DataFrame, *, round_: Round, label: Label) -> list[RowError]:
    """The office's collated file: every line names a hospital in the round's regions."""
    errors = []
    codes = frame["hospital_code"].fillna("")
    # One query: every hospital named in the file, with its province.
    scope = set(round_.regions.values_list("pk", flat=True))
    known: dict[str, int] = {}
    in_scope: set[int] = set()
    for code, pk, region_id in Organization.objects.filter(
        kind=Organization.Kind.HOSPITAL, social_credit_code__in=list(codes.unique())
    ).values_list("social_credit_code", "pk", "region_id"):
        known[code] = pk
        if region_id in scope:
            in_scope.add(pk)
    ids = codes.map(known)
    frame["hospital_id"] = ids.astype("Int64") if len(frame) else _empty_ids(0)
    missing = codes == ""
    unknown = ~missing & ids.isna()
    outside = ~missing & ~unknown & ~ids.isin(list(in_scope))
    for mask, template in (
        (missing, _("a value is required.")),
        (unknown, _("“%(code)s” is not a hospital on the platform.")),
        (outside, _("hospital “%(code)s” is outside the round's region scope.")),
    ):
        for row, code in zip(frame.loc[mask, ROW], codes[mask], strict=True):
            errors.append(RowError(int(row), label("hospital_code"), template % {"code": code}))
    return errors


def _round_items(frame: pd.DataFrame, *, round_: Round, label: Label) -> list[RowError]:
    errors = []
    round_items = dict(RoundItem.objects.filter(round=round_).values_list("item__code", "pk"))
    frame["round_item_id"] = frame["item_code"].map(round_items).astype("Int64")
    unknown_item = frame["round_item_id"].isna() & (frame["item_code"] != "")
    for row, code in zip(
        frame.loc[unknown_item, ROW], frame.loc[unknown_item, "item_code"], strict=True
    ):
        errors.append(
            RowError(
                int(row),
                label("item_code"),
                _("item code “%(code)s” is not in round %(round)s.")
                % {"code": code, "round": round_.code},
            )
        )
    return errors


def _specifications(frame: pd.DataFrame, *, round_: Round, label: Label) -> list[RowError]:
    """Drugs: each line names a specification of its item."""
    errors = []
    specs = pd.DataFrame(
        list(
            Specification.objects.filter(item__round_items__round=round_).values_list(
                "item__code", "code", "pk"
            )
        ),
        columns=["item_code", "specification_code", "specification_id"],
    )
    frame["specification_id"] = _lookup(
        frame, ["item_code", "specification_code"], specs, "specification_id"
    )
    frame["product_id"] = _empty_ids(len(frame))
    known_item = ~frame["round_item_id"].isna()
    bad = known_item & frame["specification_id"].isna() & (frame["specification_code"] != "")
    for row, spec, item in zip(
        frame.loc[bad, ROW],
        frame.loc[bad, "specification_code"],
        frame.loc[bad, "item_code"],
        strict=True,
    ):
        errors.append(
            RowError(
                int(row),
                label("specification_code"),
                _("“%(spec)s” is not a specification of item %(item)s.")
                % {"spec": spec, "item": item},
            )
        )
    return errors


def _products(frame: pd.DataFrame, *, round_: Round, label: Label) -> list[RowError]:
    """Consumables: each line names a product of its item (registration number, model)."""
    errors = []
    products = pd.DataFrame(
        list(
            Product.objects.filter(item__round_items__round=round_).values_list(
                "item__code", "registration_number", "model_number", "pk"
            )
        ),
        columns=["item_code", "registration_number", "model_number", "product_id"],
    )
    frame["model_number"] = frame["model_number"].fillna("")
    frame["product_id"] = _lookup(
        frame, ["item_code", "registration_number", "model_number"], products, "product_id"
    )
    frame["specification_id"] = _empty_ids(len(frame))
    known_item = ~frame["round_item_id"].isna()
    bad = known_item & frame["product_id"].isna() & (frame["registration_number"] != "")
    for row, reg, model, item in zip(
        frame.loc[bad, ROW],
        frame.loc[bad, "registration_number"],
        frame.loc[bad, "model_number"],
        frame.loc[bad, "item_code"],
        strict=True,
    ):
        errors.append(
            RowError(
                int(row),
                label("registration_number"),
                _(
                    "no product of item %(item)s has registration number “%(number)s” and "
                    "model “%(model)s”."
                )
                % {"item": item, "number": reg, "model": model},
            )
        )
    return errors


def _empty_ids(n: int) -> pd.Series:
    return pd.Series(pd.array([pd.NA] * n, dtype="Int64"))


def _lookup(frame: pd.DataFrame, keys: list[str], table: pd.DataFrame, value: str) -> pd.Series:
    """``table[value]`` for each row of ``frame`` matched on the ``keys`` columns (or NA).

    A left merge on several text columns of a million rows costs seconds; factorizing the
    (few distinct) values of each key column and matching their integer codes is a
    fraction of that.
    """
    if frame.empty:
        return pd.Series(pd.array([], dtype="Int64"), index=frame.index)
    combined = np.zeros(len(frame), dtype=np.int64)
    lookup_codes = np.zeros(len(table), dtype=np.int64)
    for key in keys:
        codes, uniques = pd.factorize(frame[key], use_na_sentinel=False)
        position = {value_: i for i, value_ in enumerate(uniques)}
        size = len(uniques) + 1  # the extra code stands for "not in the file"
        combined = combined * size + codes
        lookup_codes = lookup_codes * size + np.array(
            [position.get(v, size - 1) for v in table[key]], dtype=np.int64
        )
    found = pd.Series(table[value].to_numpy(), index=lookup_codes)
    found = found[~found.index.duplicated()]
    return pd.Series(found.reindex(combined).to_numpy(), index=frame.index, dtype="Int64")
