"""A hospital's demand: the web table, the spreadsheet upload and template, the history."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import pandas as pd
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import hospital_required, role_required
from accounts.models import Organization
from common.pagination import paginate
from common.spreadsheet_views import ImportSetup, import_page, xlsx_response
from common.spreadsheets import write_xlsx
from common.uploads import MAX_ROWS_IN_REQUEST, ImportOutcome, RowsRefused
from procurement import selectors, services
from procurement.models import DemandChange, Round
from procurement.views.shared import round_of, user_of


@dataclass
class _Submission:
    """What the table's form sent: the text per row, and the errors of the declaration."""

    text: dict[int, str] = field(default_factory=dict)  # row index -> what was typed
    row_errors: dict[int, list[str]] = field(default_factory=dict)
    general_errors: list[str] = field(default_factory=list)


@hospital_required
def demand_table(request: HttpRequest, code: str) -> HttpResponse:
    """The hospital's web table: one row per line, last value shown, save all at once."""
    round_ = round_of(request, code)
    hospital = user_of(request).organization
    assert hospital is not None
    rows = selectors.demand_rows_for_hospital(round_=round_, hospital=hospital)
    submission = _Submission()
    if request.method == "POST":
        outcome = _declare(request, round_=round_, rows=rows, submission=submission)
        if outcome is not None:
            messages.success(
                request,
                _("Saved: %(created)s new, %(changed)s changed, %(unchanged)s unchanged.")
                % {
                    "created": outcome.created,
                    "changed": outcome.changed,
                    "unchanged": outcome.unchanged,
                },
            )
            return redirect("procurement:demand", code=code)
    table = [
        {
            "row": row,
            "value": submission.text.get(
                row.index, row.quantity if row.quantity is not None else ""
            ),
            "errors": submission.row_errors.get(row.index, []),
            "unit": row.round_item.item.display_unit,
            "line": _demand_line_label(row),
        }
        for row in rows
    ]
    # The summary lists each error once, linked to the field it concerns.
    error_links = [
        {
            "field_id": f"id_{row.field_name}",
            "label": f"{row.round_item.item.code} {_demand_line_label(row)}",
            "message": message,
        }
        for row in rows
        for message in submission.row_errors.get(row.index, [])
    ]
    return render(
        request,
        "procurement/demand_table.html",
        {
            "round": round_,
            "table": table,
            "general_errors": submission.general_errors,
            "error_count": sum(1 for entry in table if entry["errors"]),
            "error_links": error_links,
            "can_declare": selectors.round_can_declare(round_=round_, organization=hospital),
            "declared": sum(1 for r in rows if r.declaration is not None),
        },
        status=400 if request.method == "POST" else 200,
    )


def _declare(
    request: HttpRequest,
    *,
    round_: Round,
    rows: list[selectors.DemandRow],
    submission: _Submission,
) -> ImportOutcome | None:
    """Declare the filled-in rows (a blank row is no change); None with the errors kept in
    ``submission``, each on the row it concerns."""
    lines = []
    line_rows = []
    for row in rows:
        text = str(request.POST.get(row.field_name, "")).strip()
        submission.text[row.index] = text
        if text == "":
            continue  # blank: no change (use Remove to delete a declared line)
        lines.append(
            services.DemandLine(
                item_code=row.round_item.item.code,
                specification_code=row.specification.code if row.specification else "",
                registration_number=row.product.registration_number if row.product else "",
                model_number=row.product.model_number if row.product else "",
                quantity=text,
            )
        )
        line_rows.append(row.index)
    try:
        return services.demand_declare(
            hospital=user_of(request).organization,  # type: ignore[arg-type]
            round_=round_,
            lines=lines,
            channel=DemandChange.Channel.WEB,
            by=user_of(request),
        )
    except RowsRefused as exc:
        for error in exc.row_errors:
            if not error.row:
                submission.general_errors.append(error.message)
                continue
            submission.row_errors.setdefault(line_rows[error.row - 1], []).append(error.message)
    except ValidationError as exc:
        submission.general_errors = list(exc.messages)
    return None


def _demand_line_label(row: selectors.DemandRow) -> str:
    if row.specification is not None:
        return row.specification.label
    assert row.product is not None
    model = f" {row.product.model_number}" if row.product.model_number else ""
    return f"{row.product.display_name}{model}"


@hospital_required
@require_POST
def demand_remove(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    round_ = round_of(request, code)
    try:
        services.demand_remove(
            hospital=user_of(request).organization,  # type: ignore[arg-type]
            round_=round_,
            declaration_id=pk,
            channel=DemandChange.Channel.WEB,
            by=user_of(request),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The line was removed; its history is kept."))
    return redirect("procurement:demand", code=code)


@hospital_required
def demand_upload(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    return import_page(
        request,
        ImportSetup(
            purpose="demand",
            scope=round_.code,
            run=functools.partial(
                services.demand_import,
                round_=round_,
                hospital=user_of(request).organization,
                by=user_of(request),
                max_rows=MAX_ROWS_IN_REQUEST,
            ),
            title=_("Upload demand for %(code)s") % {"code": round_.code},
            intro=_(
                "Annual quantities in smallest units. Download the template: it lists every "
                "line with your current value; fill in the quantities and upload it. Blank "
                "quantities are skipped, lines not in the file are left as they are."
            ),
            columns=services.demand_columns(round_.kind),
            back_url=reverse("procurement:demand", args=[round_.code]),
            back_label=_("Demand table"),
            template_url=reverse("procurement:demand-template", args=[round_.code]),
        ),
    )


@hospital_required
def demand_template(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    hospital = user_of(request).organization
    assert hospital is not None
    rows = selectors.demand_template_rows(round_=round_, hospital=hospital)
    return xlsx_response(
        write_xlsx({"demand": _demand_sheet(round_, rows)}), f"{round_.code}-demand.xlsx"
    )


def _demand_sheet(round_: Round, rows: list[dict[str, object]]) -> pd.DataFrame:
    if round_.kind == Round.Kind.DRUGS:
        headers = {
            "hospital_code": "医疗机构代码 (hospital code)",
            "item_code": "品种编码 (item code)",
            "item_name": "品种名称 (item name)",
            "specification_code": "规格编码 (specification code)",
            "specification_label": "规格 (specification)",
            "unit": "最小单位 (unit)",
            "quantity": "年度需求量 (quantity, smallest units)",
        }
    else:
        headers = {
            "hospital_code": "医疗机构代码 (hospital code)",
            "item_code": "品种编码 (item code)",
            "item_name": "品种名称 (item name)",
            "registration_number": "注册证编号 (registration number)",
            "model_number": "型号 (model)",
            "product_name": "产品名称 (product name)",
            "unit": "最小单位 (unit)",
            "quantity": "年度需求量 (quantity, smallest units)",
        }
    frame = pd.DataFrame(rows, columns=list(headers))
    return frame.rename(columns=headers)


@role_required(Organization.Kind.HOSPITAL, Organization.Kind.OFFICE)
def demand_history(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    query = request.GET.get("q", "").strip()
    changes = selectors.demand_history_for_user(user=user_of(request), round_=round_, query=query)
    page = paginate(request, changes)
    return render(
        request,
        "procurement/demand_history.html",
        {"round": round_, "changes": page, "page_obj": page, "q": query},
    )
