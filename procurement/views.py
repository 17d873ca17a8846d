"""Pages of rounds, rule sets and demand declaration. Thin: access, form, one service."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from accounts.access import hospital_required, office_required, role_required
from accounts.models import Organization, User
from catalog.import_views import import_page
from catalog.imports import (
    MAX_ROWS_IN_REQUEST,
    PreviewRow,
    RowsRefused,
    upload_get_for_user,
    upload_unfinished_for_user,
)
from catalog.models import StoredUpload
from catalog.spreadsheets import write_xlsx
from catalog.views import xlsx_response
from common.pagination import paginate
from procurement import selectors, services
from procurement.forms import (
    TIMETABLE_FIELDS,
    CancelForm,
    RoundCreateForm,
    RuleSetChoiceForm,
    RuleSetReviseForm,
    TimetableForm,
)
from procurement.models import DemandChange, Round, RuleSet
from procurement.tasks import demand_collated_import_task, demand_collated_preview_task

COLLATED = "demand-collated"  # the StoredUpload purpose of the office's collated demand


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _round(request: HttpRequest, code: str) -> Round:
    try:
        return selectors.round_get_for_user(user=_user(request), code=code)
    except Round.DoesNotExist as exc:
        raise Http404(_("No such round.")) from exc


def _max_bytes() -> int:
    return int(settings.JICAI_MAX_UPLOAD_BYTES)


# --- rounds -------------------------------------------------------------------------------


@login_required
def round_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    rounds = selectors.round_search(
        selectors.round_list_for_user(user=_user(request)), query=query, status=status
    )
    page = paginate(request, rounds)
    return render(
        request,
        "procurement/round_list.html",
        {
            "rounds": page,
            "page_obj": page,
            "q": query,
            "status": status,
            "statuses": Round.Status.choices,
        },
    )


@office_required
def round_create(request: HttpRequest) -> HttpResponse:
    form = RoundCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            round_ = services.round_create(
                office=_user(request).organization,  # type: ignore[arg-type]
                code=data["code"],
                name=data["name"],
                name_en=data["name_en"],
                kind=data["kind"],
                rule_set=data["rule_set"],
                regions=data["regions"],
                demand_opens_at=data["demand_opens_at"],
                demand_closes_at=data["demand_closes_at"],
                bid_deadline=data["bid_deadline"],
                opening_at=data["opening_at"],
                objection_ends_at=data["objection_ends_at"],
                contract_starts_on=data["contract_starts_on"],
                items=list(data["items"]),
                by=_user(request),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Round %(code)s created. Set its ceilings, then open demand declaration.")
                % {"code": round_.code},
            )
            return redirect("procurement:round", code=round_.code)
    return render(request, "procurement/round_create.html", {"form": form})


# Office actions on the round page (the lifecycle services decide what is legal).
TRANSITIONS: dict[str, Callable[..., Round]] = {
    "open_demand": services.round_open_demand,
    "close_demand": services.round_close_demand,
    "open_bidding": services.round_open_bidding,
    "close_bidding": services.round_close_bidding,
}
# Which actions to offer in which state (the services still decide).
ACTIONS_BY_STATUS: dict[str, list[str]] = {
    Round.Status.DRAFT: ["open_demand"],
    Round.Status.DEMAND_OPEN: ["close_demand"],
    Round.Status.DEMAND_CLOSED: ["open_demand", "open_bidding"],
    Round.Status.BIDDING_OPEN: ["close_bidding"],
}


def _action_labels() -> dict[str, str]:
    return {
        "open_demand": _("Open demand declaration"),
        "close_demand": _("Close demand declaration"),
        "open_bidding": _("Open bidding"),
        "close_bidding": _("Close bidding"),
    }


def _success_message(action: str) -> str:
    return {
        "open_demand": _("Demand declaration is open."),
        "close_demand": _("Demand declaration is closed."),
        "open_bidding": _("Bidding is open; the rule set is frozen."),
        "close_bidding": _("Bidding is closed."),
    }[action]


def _timetable_form(round_: Round, data: Any = None) -> TimetableForm | None:
    """The timetable form, with the fields the round's state no longer allows disabled."""
    editable = services.TIMETABLE_EDITABLE.get(round_.status)
    if not editable:
        return None
    initial = {
        field: timezone.localtime(value) if isinstance(value, datetime.datetime) else value
        for field in TIMETABLE_FIELDS
        for value in [getattr(round_, field)]
    }
    form = TimetableForm(data, initial=initial, prefix="timetable")
    for field in TIMETABLE_FIELDS:
        form.fields[field].disabled = field not in editable
    return form


@login_required
def round_detail(request: HttpRequest, code: str) -> HttpResponse:
    return _round_page(request, _round(request, code))


def _round_page(
    request: HttpRequest, round_: Round, *, timetable_form: TimetableForm | None = None
) -> HttpResponse:
    user = _user(request)
    organization = user.organization
    is_office = organization is not None and organization.pk == round_.office_id
    labels = _action_labels()
    context: dict[str, Any] = {
        "round": round_,
        "price_rows": selectors.round_price_rows(round_=round_),
        "regions": list(round_.regions.order_by("code")),
        "is_office": is_office,
        "round_panels": settings.JICAI_ROUND_PANELS,
        "can_declare": selectors.round_can_declare(round_=round_, organization=organization),
    }
    if is_office:
        context.update(
            actions=[(a, labels[a]) for a in ACTIONS_BY_STATUS.get(round_.status, [])],
            transitions=selectors.round_transitions(round_=round_),
            cancel_form=CancelForm(),
            can_cancel=Round.Status.CANCELLED
            in services.ALLOWED_TRANSITIONS[Round.Status(round_.status)],
            editable=round_.status
            in {Round.Status.DRAFT, Round.Status.DEMAND_OPEN, Round.Status.DEMAND_CLOSED},
            rule_set_form=RuleSetChoiceForm(round_=round_),
            demand=selectors.demand_summary(round_=round_),
            timetable_form=timetable_form or _timetable_form(round_),
            collated_upload=upload_unfinished_for_user(
                user=user, purpose=COLLATED, scope=round_.code
            ),
        )
    status = 400 if timetable_form is not None and timetable_form.errors else 200
    return render(request, "procurement/round_detail.html", context, status=status)


@office_required
@require_POST
def round_timetable(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    if round_.office_id != _user(request).organization_id:
        raise Http404
    form = _timetable_form(round_, request.POST)
    if form is None:
        messages.error(
            request,
            _("Round %(code)s is %(status)s: its timetable can no longer change.")
            % {"code": round_.code, "status": round_.get_status_display()},
        )
        return redirect("procurement:round", code=code)
    if form.is_valid():
        try:
            services.round_update_timetable(
                round_=round_, by=_user(request), timetable=form.cleaned_data
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("The timetable is updated."))
            return redirect("procurement:round", code=code)
    return _round_page(request, round_, timetable_form=form)


@office_required
@require_POST
def round_transition(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    action = request.POST.get("action", "")
    if action not in TRANSITIONS:
        messages.error(request, _("Unknown action."))
        return redirect("procurement:round", code=code)
    service = TRANSITIONS[action]
    try:
        service(round_=round_, by=_user(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _success_message(action))
    return redirect("procurement:round", code=code)


@office_required
@require_POST
def round_cancel(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for cancelling the round."))
        return redirect("procurement:round", code=code)
    try:
        services.round_cancel(round_=round_, by=_user(request), reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Round %(code)s is cancelled.") % {"code": round_.code})
    return redirect("procurement:round", code=code)


@office_required
@require_POST
def round_rule_set(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    form = RuleSetChoiceForm(request.POST, round_=round_)
    if not form.is_valid():
        messages.error(request, _("Choose a rule set that applies to this round."))
        return redirect("procurement:round", code=code)
    try:
        services.round_set_rule_set(round_=round_, rule_set=form.cleaned_data["rule_set"])
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("The round now uses rule set %(rule_set)s.")
            % {"rule_set": str(form.cleaned_data["rule_set"])},
        )
    return redirect("procurement:round", code=code)


@office_required
def round_prices(request: HttpRequest, code: str) -> HttpResponse:
    """Ceilings (per specification) and reference prices, by form."""
    round_ = _round(request, code)
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
    round_ = _round(request, code)
    return import_page(
        request,
        purpose="ceilings",
        scope=round_.code,
        run=lambda data, name, commit: services.ceiling_import(
            round_=round_, data=data, filename=name, max_bytes=_max_bytes(), commit=commit
        ),
        context={
            "title": _("Import ceilings for %(code)s") % {"code": round_.code},
            "intro": _(
                "One row per item and specification: the maximum valid bid price in yuan per "
                "unit of count (up to 4 decimal places), and optionally the reference price."
            ),
            "back_url": reverse("procurement:round", args=[round_.code]),
            "back_label": round_.code,
            "template_url": reverse("procurement:ceiling-template", args=[round_.code]),
            "columns_help": services.CEILING_COLUMNS,
        },
        done_url=reverse("procurement:round", args=[round_.code]),
    )


@office_required
def ceiling_template(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
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
    from catalog.imports import template_frame

    frame = template_frame(services.CEILING_COLUMNS, rows)
    return xlsx_response(write_xlsx({"ceilings": frame}), f"{round_.code}-ceilings.xlsx")


# --- rule sets ----------------------------------------------------------------------------


@login_required
def rule_set_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.rule_set_list())
    return render(request, "procurement/rule_set_list.html", {"rule_sets": page, "page_obj": page})


@login_required
def rule_set_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rule_set = get_object_or_404(RuleSet, pk=pk)
    organization = _user(request).organization
    is_office = organization is not None and organization.kind == Organization.Kind.OFFICE
    form = None
    if is_office:
        form = RuleSetReviseForm(
            request.POST or None,
            initial={"parameters": json.dumps(rule_set.parameters, indent=2, ensure_ascii=False)},
        )
        if request.method == "POST" and form.is_valid():
            try:
                revised = services.rule_set_revise(
                    rule_set=rule_set,
                    parameters=form.cleaned_data["parameters"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("parameters", message)
            else:
                if revised.pk == rule_set.pk:
                    messages.success(
                        request, _("Rule set %(name)s saved.") % {"name": str(revised)}
                    )
                else:
                    messages.success(
                        request,
                        _(
                            "%(old)s is frozen (a round using it has opened bidding); your "
                            "changes were saved as %(new)s."
                        )
                        % {"old": str(rule_set), "new": str(revised)},
                    )
                return redirect("procurement:rule-set", pk=revised.pk)
    elif request.method == "POST":
        raise Http404
    rounds = rule_set.rounds.all()
    if organization is None or organization.kind != Organization.Kind.OFFICE:
        rounds = rounds.none()
    else:
        rounds = rounds.filter(office=organization)
    return render(
        request,
        "procurement/rule_set_detail.html",
        {
            "rule_set": rule_set,
            "parameters_json": json.dumps(rule_set.parameters, indent=2, ensure_ascii=False),
            "versions": RuleSet.objects.filter(name=rule_set.name).order_by("-version"),
            "rounds": rounds,
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )


# --- demand: hospitals --------------------------------------------------------------------


@hospital_required
def demand_table(request: HttpRequest, code: str) -> HttpResponse:
    """The hospital's web table: one row per line, last value shown, save all at once."""
    round_ = _round(request, code)
    hospital = _user(request).organization
    assert hospital is not None
    rows = selectors.demand_rows_for_hospital(round_=round_, hospital=hospital)
    row_errors: dict[int, list[str]] = {}
    general_errors: list[str] = []
    submitted: dict[int, str] = {}
    status = 200
    if request.method == "POST":
        lines = []
        line_rows = []
        for row in rows:
            text = str(request.POST.get(row.field_name, "")).strip()
            submitted[row.index] = text
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
            outcome = services.demand_declare(
                hospital=hospital,
                round_=round_,
                lines=lines,
                channel=DemandChange.Channel.WEB,
                by=_user(request),
            )
        except RowsRefused as exc:
            for error in exc.row_errors:
                if not error.row:
                    general_errors.append(error.message)
                    continue
                row_errors.setdefault(line_rows[error.row - 1], []).append(error.message)
            status = 400
        except ValidationError as exc:
            general_errors = list(exc.messages)
            status = 400
        else:
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
            "value": submitted.get(row.index, row.quantity if row.quantity is not None else ""),
            "errors": row_errors.get(row.index, []),
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
        for message in row_errors.get(row.index, [])
    ]
    return render(
        request,
        "procurement/demand_table.html",
        {
            "round": round_,
            "table": table,
            "general_errors": general_errors,
            "error_count": sum(1 for entry in table if entry["errors"]),
            "error_links": error_links,
            "can_declare": selectors.round_can_declare(round_=round_, organization=hospital),
            "declared": sum(1 for r in rows if r.declaration is not None),
        },
        status=status,
    )


def _demand_line_label(row: selectors.DemandRow) -> str:
    if row.specification is not None:
        return row.specification.label
    assert row.product is not None
    model = f" {row.product.model_number}" if row.product.model_number else ""
    return f"{row.product.display_name}{model}"


@hospital_required
@require_POST
def demand_remove(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    round_ = _round(request, code)
    try:
        services.demand_remove(
            hospital=_user(request).organization,  # type: ignore[arg-type]
            round_=round_,
            declaration_id=pk,
            channel=DemandChange.Channel.WEB,
            by=_user(request),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The line was removed; its history is kept."))
    return redirect("procurement:demand", code=code)


@hospital_required
def demand_upload(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    hospital = _user(request).organization
    return import_page(
        request,
        purpose="demand",
        scope=round_.code,
        run=lambda data, name, commit: services.demand_import(
            round_=round_,
            data=data,
            filename=name,
            max_bytes=_max_bytes(),
            hospital=hospital,
            by=_user(request),
            commit=commit,
            max_rows=MAX_ROWS_IN_REQUEST,
        ),
        context={
            "title": _("Upload demand for %(code)s") % {"code": round_.code},
            "intro": _(
                "Annual quantities in smallest units. Download the template: it lists every "
                "line with your current value; fill in the quantities and upload it. Blank "
                "quantities are skipped, lines not in the file are left as they are."
            ),
            "back_url": reverse("procurement:demand", args=[round_.code]),
            "back_label": _("Demand table"),
            "template_url": reverse("procurement:demand-template", args=[round_.code]),
            "columns_help": services.demand_columns(round_.kind),
        },
        done_url=reverse("procurement:demand", args=[round_.code]),
    )


@hospital_required
def demand_template(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    hospital = _user(request).organization
    assert hospital is not None
    rows = services.demand_template_rows(round_=round_, hospital=hospital)
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
    round_ = _round(request, code)
    query = request.GET.get("q", "").strip()
    changes = selectors.demand_history_for_user(user=_user(request), round_=round_, query=query)
    page = paginate(request, changes)
    return render(
        request,
        "procurement/demand_history.html",
        {"round": round_, "changes": page, "page_obj": page, "q": query},
    )


# --- demand: office -----------------------------------------------------------------------


@office_required
def demand_totals(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    totals, regions = selectors.demand_totals(round_=round_)
    # The totals have one row per line of the round (items x specifications or products,
    # a few hundred at most) and are shown whole; the hospitals that have not declared
    # may be tens of thousands and are paged.
    query = request.GET.get("q", "").strip()
    missing_page = paginate(request, selectors.hospitals_not_declared(round_=round_, query=query))
    return render(
        request,
        "procurement/demand_totals.html",
        {
            "round": round_,
            "regions": regions,
            "totals": totals.to_dict("records"),
            "missing": missing_page,
            "page_obj": missing_page,
            "q": query,
            "summary": selectors.demand_summary(round_=round_),
        },
    )


@office_required
def demand_totals_xlsx(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    totals, regions = selectors.demand_totals(round_=round_)
    headers = {
        "item_code": _("Item code"),
        "item": _("Item"),
        "line": _("Specification or product"),
        "unit": _("Unit of count"),
        "total": _("Total (smallest units)"),
    }
    for region in regions:
        headers[region.code] = _("%(province)s (smallest units)") % {"province": region.name}
    columns = ["item_code", "item", "line", "unit", *[r.code for r in regions], "total"]
    frame = totals.reindex(columns=columns).rename(columns=headers)
    return xlsx_response(write_xlsx({"totals": frame}), f"{round_.code}-demand-totals.xlsx")


@office_required
def demand_missing_xlsx(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(request, code)
    missing = selectors.hospitals_not_declared(round_=round_)
    frame = pd.DataFrame(
        [
            {
                _("Unified social credit code"): h.social_credit_code,
                _("Hospital"): h.display_name,
                _("Province"): h.region.name,
                _("Grade"): h.hospital_grade,
            }
            for h in missing
        ],
        columns=[_("Unified social credit code"), _("Hospital"), _("Province"), _("Grade")],
    )
    return xlsx_response(
        write_xlsx({"not declared": frame}), f"{round_.code}-hospitals-not-declared.xlsx"
    )


@office_required
def demand_office_import(request: HttpRequest, code: str) -> HttpResponse:
    """Collated demand for many hospitals (e.g. a provincial platform's export).

    A national file has a million lines: both its check (the preview) and its commit run
    in tasks, followed on ``demand_office_import_status``.
    """
    round_ = _round(request, code)
    return import_page(
        request,
        purpose=COLLATED,
        scope=round_.code,
        run=lambda data, name, commit: services.demand_import(
            round_=round_,
            data=data,
            filename=name,
            max_bytes=_max_bytes(),
            hospital=None,
            by=_user(request),
            commit=commit,
        ),
        context={
            "title": _("Import collated demand for %(code)s") % {"code": round_.code},
            "intro": _(
                "Demand collected for many hospitals, one row per hospital and line; the "
                "hospital code column is required and every hospital must be in the round's "
                "region scope. The file is checked and imported in the background: you can "
                "leave the page and come back from the round page."
            ),
            "back_url": reverse("procurement:demand-totals", args=[round_.code]),
            "back_label": _("Demand totals"),
            "template_url": "",
            "columns_help": services.demand_columns(round_.kind),
        },
        done_url=reverse("procurement:demand-totals", args=[round_.code]),
        preview_in_background=lambda upload: _enqueue(round_, upload, demand_collated_preview_task),
        commit_in_background=lambda upload: _enqueue(round_, upload, demand_collated_import_task),
        status_url_for=lambda upload: _status_url(round_, upload),
    )


def _status_url(round_: Round, upload: StoredUpload) -> str:
    return reverse("procurement:demand-office-import-status", args=[round_.code, upload.token])


def _enqueue(round_: Round, upload: StoredUpload, task: Any) -> str:
    token = str(upload.token)
    transaction.on_commit(lambda: task.delay(token))
    return _status_url(round_, upload)


@office_required
def demand_office_import_status(request: HttpRequest, code: str, token: str) -> HttpResponse:
    """Where a background import is followed; the page refreshes itself while a task works."""
    round_ = _round(request, code)
    try:
        upload = upload_get_for_user(
            user=_user(request), token=token, purpose=COLLATED, scope=round_.code
        )
    except StoredUpload.DoesNotExist as exc:
        raise Http404 from exc
    template = (
        "procurement/_import_status.html"
        if request.htmx  # type: ignore[attr-defined]
        else "procurement/import_status.html"
    )
    return render(request, template, _import_status_context(round_, upload))


def _import_status_context(round_: Round, upload: StoredUpload) -> dict[str, Any]:
    status = StoredUpload.Status
    result = upload.result or {}
    labels = [
        _("File received"),
        _("Checking every row"),
        _("Your confirmation"),
        _("Importing (all rows or none)"),
        _("Imported"),
    ]
    position: dict[str, int] = {
        status.PREVIEW_QUEUED: 1,
        status.PREVIEWING: 1,
        status.PREVIEWED: 2,
        status.QUEUED: 3,
        status.RUNNING: 3,
        status.DONE: len(labels),  # every step done
    }
    # A failed check stops at step 2, a failed import at step 4.
    failed_at = 3 if result.get("phase") == "import" else 1
    current = position.get(upload.status, failed_at)
    steps = [
        {"label": label, "done": index < current, "current": index == current}
        for index, label in enumerate(labels)
    ]
    return {
        "round": round_,
        "upload": upload,
        "steps": steps,
        "status_url": _status_url(round_, upload),
        "import_url": reverse("procurement:demand-office-import", args=[round_.code]),
        "done_url": reverse("procurement:demand-totals", args=[round_.code]),
        "preview_rows": [
            PreviewRow(
                row=int(r["row"]), action=str(r["action"]), description=str(r["description"])
            )
            for r in result.get("rows", [])
        ],
        "errors_more": max(0, int(result.get("error_count") or 0) - len(result.get("errors", []))),
    }


# --- API token ----------------------------------------------------------------------------


@role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def api_token(request: HttpRequest) -> HttpResponse:
    """Create or rotate the user's API token (the old one stops working at once)."""
    user = _user(request)
    if request.method == "POST":
        Token.objects.filter(user=user).delete()
        Token.objects.create(user=user)
        messages.success(
            request, _("A new API token was created; the previous one no longer works.")
        )
        return redirect("procurement:api-token")
    token = Token.objects.filter(user=user).first()
    return render(
        request,
        "procurement/api_token.html",
        {"token": token, "schema_url": reverse("api-schema"), "docs_url": reverse("api-docs")},
    )
