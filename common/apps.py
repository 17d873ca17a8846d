from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Installed for its template tags and templates (no models of its own)."""

    name = "common"
