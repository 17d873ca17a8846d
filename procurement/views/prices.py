"""Ceilings and reference prices of a round: by form, or from a spreadsheet."""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.access import office_required
from common.spreadsheet_views import ImportSetup, import_page, xlsx_response
from common.spreadsheets import template_frame, write_xlsx
from procurement import selectors, services
from procurement.views.shared import round_of


@office_required
def round_prices(request: HttpRequest, code: str) -> HttpResponse:
    """Ceilings (per specification) and reference prices, by form."""
    round_ = round_of(request, code)
    round_items = selectors.round_items_with_prices(round_=round_)
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for round_item in round_items:
        values[f"ref-{round_item.pk}"] = (
            f"{round_item.reference_price}" if round_item.reference_price is not None else ""
        )
        current = {c.specification_id: c.max_valid_bid_price for c in round_item.ceilings.all()}
        for spec in round_item.item.specifications.all():
            values[f"ceil-{round_item.pk}-{spec.pk}"] = (
                f"{current[spec.pk]}" if spec.pk in current else ""
            )
    if request.method == "POST":
        prices: dict[Any, tuple[Decimal | None, dict[Any, Decimal]]] = {}
        for round_item in round_items:
            reference = _decimal(
                request.POST, f"ref-{round_item.pk}", errors, values, allow_zero=True
            )
            ceilings = {}
            for spec in round_item.item.specifications.all():
                price = _decimal(request.POST, f"ceil-{round_item.pk}-{spec.pk}", errors, values)
                if price is not None:
                    ceilings[spec] = price
            prices[round_item] = (reference, ceilings)
        if not errors:
            try:
                services.round_prices_set(round_=round_, prices=prices)
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(request, _("Prices saved."))
                return redirect("procurement:round", code=code)
    rows = []
    for round_item in round_items:
        rows.append(
            {
                "round_item": round_item,
                "ref_name": f"ref-{round_item.pk}",
                "ref_value": values[f"ref-{round_item.pk}"],
                "ref_error": errors.get(f"ref-{round_item.pk}"),
                "specs": [
                    {
                        "spec": spec,
                        "name": f"ceil-{round_item.pk}-{spec.pk}",
                        "value": values[f"ceil-{round_item.pk}-{spec.pk}"],
                        "error": errors.get(f"ceil-{round_item.pk}-{spec.pk}"),
                    }
                    for spec in round_item.item.specifications.all()
                ],
            }
        )
    return render(
        request,
        "procurement/round_prices.html",
        {"round": round_, "rows": rows, "errors": errors},
        status=400 if errors else 200,
    )


def _decimal(
    post: Any, name: str, errors: dict[str, str], values: dict[str, str], allow_zero: bool = False
) -> Decimal | None:
    text = str(post.get(name, "")).strip().replace(",", "")
    values[name] = text
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[name] = _("“%(value)s” is not a number.") % {"value": text}
        return None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        errors[name] = _("Must be greater than zero.")
        return None
    if value != value.quantize(Decimal("0.0001")):
        errors[name] = _("At most 4 decimal places.")
        return None
    return value


@office_required
def ceiling_import_view(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    return import_page(
        request,
        ImportSetup(
            purpose="ceilings",
            scope=round_.code,
            run=functools.partial(services.ceiling_import, round_=round_),
            title=_("Import ceilings for %(code)s") % {"code": round_.code},
            intro=_(
                "One row per item and specification: the maximum valid bid price in yuan per "
                "unit of count (up to 4 decimal places), and optionally the reference price."
            ),
            columns=services.CEILING_COLUMNS,
            back_url=reverse("procurement:round", args=[round_.code]),
            back_label=round_.code,
            template_url=reverse("procurement:ceiling-template", args=[round_.code]),
        ),
    )


@office_required
def ceiling_template(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    rows = []
    for round_item in selectors.round_items_with_prices(round_=round_):
        current = {c.specification_id: c.max_valid_bid_price for c in round_item.ceilings.all()}
        for spec in round_item.item.specifications.all():
            rows.append(
                {
                    "item_code": round_item.item.code,
                    "specification_code": spec.code,
                    "max_valid_bid_price": current.get(spec.pk, ""),
                    "reference_price": round_item.reference_price or ""
                    if spec.is_representative
                    else "",
                }
            )
    frame = template_frame(services.CEILING_COLUMNS, rows)
    return xlsx_response(write_xlsx({"ceilings": frame}), f"{round_.code}-ceilings.xlsx")
