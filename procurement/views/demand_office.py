"""The office's view of demand: totals, hospitals that have not declared, and the
collated import (checked and imported by tasks, followed on its status page)."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.access import office_required
from catalog.models import StoredUpload
from common.models import StoredUploadBase
from common.pagination import paginate
from common.spreadsheet_views import (
    Background,
    ImportSetup,
    import_page,
    upload_progress,
    xlsx_response,
)
from common.spreadsheets import write_xlsx
from common.uploads import upload_get_for_user
from procurement import selectors, services
from procurement.models import Round
from procurement.tasks import demand_collated_import_task, demand_collated_preview_task
from procurement.views.shared import COLLATED, round_of, user_of


@office_required
def demand_totals(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
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
    round_ = round_of(request, code)
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
    round_ = round_of(request, code)
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
    round_ = round_of(request, code)
    return import_page(
        request,
        ImportSetup(
            purpose=COLLATED,
            scope=round_.code,
            run=functools.partial(
                services.demand_import, round_=round_, hospital=None, by=user_of(request)
            ),
            title=_("Import collated demand for %(code)s") % {"code": round_.code},
            intro=_(
                "Demand collected for many hospitals, one row per hospital and line; the "
                "hospital code column is required and every hospital must be in the round's "
                "region scope. The file is checked and imported in the background: you can "
                "leave the page and come back from the round page."
            ),
            columns=services.demand_columns(round_.kind),
            back_url=reverse("procurement:demand-totals", args=[round_.code]),
            back_label=_("Demand totals"),
            background=Background(
                preview=lambda upload: _enqueue(round_, upload, demand_collated_preview_task),
                commit=lambda upload: _enqueue(round_, upload, demand_collated_import_task),
                status_url=lambda upload: _status_url(round_, upload),
            ),
        ),
    )


def _status_url(round_: Round, upload: StoredUploadBase) -> str:
    return reverse("procurement:demand-office-import-status", args=[round_.code, upload.token])


def _enqueue(round_: Round, upload: StoredUploadBase, task: Any) -> str:
    token = str(upload.token)
    transaction.on_commit(lambda: task.delay(token))
    return _status_url(round_, upload)


@office_required
def demand_office_import_status(request: HttpRequest, code: str, token: str) -> HttpResponse:
    """Where a background import is followed; the page refreshes itself while a task works."""
    round_ = round_of(request, code)
    try:
        upload = upload_get_for_user(
            user=user_of(request), token=token, purpose=COLLATED, scope=round_.code
        )
    except StoredUpload.DoesNotExist as exc:
        raise Http404 from exc
    template = (
        "procurement/_import_status.html"
        if request.htmx  # type: ignore[attr-defined]
        else "procurement/import_status.html"
    )
    return render(request, template, _import_status_context(round_, upload))


def _import_status_context(round_: Round, upload: StoredUploadBase) -> dict[str, Any]:
    return {
        **upload_progress(upload),
        "round": round_,
        "upload": upload,
        "status_url": _status_url(round_, upload),
        "import_url": reverse("procurement:demand-office-import", args=[round_.code]),
        "done_url": reverse("procurement:demand-totals", args=[round_.code]),
    }
