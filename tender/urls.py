"""Pages of the tender app (docs/procurement-document.md), under /tender/."""

from django.urls import path

from tender import views

app_name = "tender"

urlpatterns = [
    path("<str:code>/", views.round_page, name="round"),
    path(
        "<str:code>/documents/<int:number>/<str:language>.pdf",
        views.document_pdf,
        name="document-pdf",
    ),
    path("<str:code>/notices/<int:number>/", views.notice, name="notice"),
    path("<str:code>/questions/", views.questions, name="questions"),
    path("<str:code>/questions/<int:pk>/answer/", views.answer, name="answer"),
    path("<str:code>/amend/", views.amend, name="amend"),
]
