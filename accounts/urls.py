from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import signing_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        views.PasswordChangeView.as_view(success_url=reverse_lazy("accounts:password-changed")),
        name="password-change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_changed.html"),
        name="password-changed",
    ),
    path("language/", views.language_switch, name="language"),
    path("keys/", signing_views.signing_keys, name="signing-keys"),
    path("keys/<int:pk>/revoke/", signing_views.signing_key_revoke_view, name="signing-key-revoke"),
    path("office/", views.office_home, name="office-home"),
    path("hospital/", views.hospital_home, name="hospital-home"),
    path("manufacturer/", views.manufacturer_home, name="manufacturer-home"),
]
