"""Catalog pages: manufacturers' products; the office's organization and product imports."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.access import manufacturer_required, office_required
from catalog.forms import ProductRegisterForm
from catalog.imports import (
    ORGANIZATION_COLUMNS,
    PRODUCT_COLUMNS,
    organization_import,
    product_import,
)
from catalog.selectors import item_list, product_list_for_user
from catalog.services import product_register
from common.pagination import paginate
from common.spreadsheet_views import ImportSetup, import_page, xlsx_response
from common.spreadsheets import template_frame, write_xlsx


@manufacturer_required
def product_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    products = product_list_for_user(user=request.user, query=query)  # type: ignore[arg-type]
    return render(
        request,
        "catalog/product_list.html",
        {"page_obj": paginate(request, products), "q": query.strip()},
    )


@manufacturer_required
def product_register_view(request: HttpRequest) -> HttpResponse:
    form = ProductRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            product, created = product_register(
                manufacturer=request.user.organization,  # type: ignore[union-attr,arg-type]
                specification=data["specification"],
                name=data["name"],
                name_en=data["name_en"],
                approval_number=data["approval_number"],
                dosage_form=data["dosage_form"],
                is_originator=data["is_originator"],
                is_consistency_evaluated=data["is_consistency_evaluated"],
                registration_number=data["registration_number"],
                model_number=data["model_number"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                (_("Registered %(name)s.") if created else _("Updated %(name)s."))
                % {"name": product.display_name},
            )
            return redirect("catalog:products")
    return render(request, "catalog/product_register.html", {"form": form})


@office_required
def item_list_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    return render(
        request,
        "catalog/item_list.html",
        {"page_obj": paginate(request, item_list(query=query)), "q": query.strip()},
    )


@office_required
def organization_import_view(request: HttpRequest) -> HttpResponse:
    return import_page(
        request,
        ImportSetup(
            purpose="organizations",
            run=organization_import,
            title=_("Import organizations"),
            intro=_(
                "Hospitals, manufacturers and offices, keyed by their unified social credit "
                "code: a known code is updated, a new one created."
            ),
            columns=ORGANIZATION_COLUMNS,
            back_url=reverse("accounts:home"),
            back_label=_("Home"),
            template_url=reverse("catalog:organization-import-template"),
        ),
    )


@office_required
def product_import_view(request: HttpRequest) -> HttpResponse:
    return import_page(
        request,
        ImportSetup(
            purpose="products",
            run=product_import,
            title=_("Import products"),
            intro=_(
                "Drugs keyed by approval number, consumables by registration certificate "
                "number and model."
            ),
            columns=PRODUCT_COLUMNS,
            back_url=reverse("catalog:items"),
            back_label=_("Catalog"),
            template_url=reverse("catalog:product-import-template"),
        ),
    )


@office_required
def organization_import_template(request: HttpRequest) -> HttpResponse:
    frame = template_frame(
        ORGANIZATION_COLUMNS,
        [
            {
                "kind": "hospital",
                "name": "示例市第一人民医院",
                "name_en": "Example First People's Hospital",
                "social_credit_code": "12110100MB0000000X",
                "region": "11",
                "hospital_grade": "3",
            }
        ],
    )
    return xlsx_response(write_xlsx({"organizations": frame}), "organizations-template.xlsx")


@office_required
def product_import_template(request: HttpRequest) -> HttpResponse:
    return xlsx_response(
        write_xlsx({"products": template_frame(PRODUCT_COLUMNS)}), "products-template.xlsx"
    )
