from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and organizations")

    def ready(self) -> None:
        # Registers the OpenAPI description of the token authentication (drf-spectacular).
        from accounts import auth  # noqa: F401
