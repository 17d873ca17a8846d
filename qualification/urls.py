"""Pages of the qualification app (docs/qualification.md), under /qualification/."""

from django.urls import path

from qualification import views

app_name = "qualification"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("documents/", views.documents, name="documents"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("documents/<int:pk>/file/", views.document_file, name="document-file"),
    path("documents/<int:pk>/review/", views.review, name="review"),
    path("documents/<int:pk>/resubmit/", views.resubmit, name="resubmit"),
    path("office/", views.office, name="office"),
    path("registrations/<int:pk>/decide/", views.registration_decide, name="registration-decide"),
    path("rounds/<str:code>/rule/", views.round_rule, name="round-rule"),
    path(
        "rounds/<str:code>/requirements/",
        views.round_requirements,
        name="round-requirements",
    ),
]
