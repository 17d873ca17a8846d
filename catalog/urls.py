"""Pages of the catalog app (see docs/architecture.md)."""

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("items/", views.item_list_view, name="items"),
    path("products/", views.product_list, name="products"),
    path("products/register/", views.product_register_view, name="product-register"),
    path("import/organizations/", views.organization_import_view, name="organization-import"),
    path(
        "import/organizations/template.xlsx",
        views.organization_import_template,
        name="organization-import-template",
    ),
    path("import/products/", views.product_import_view, name="product-import"),
    path(
        "import/products/template.xlsx",
        views.product_import_template,
        name="product-import-template",
    ),
]
