"""The admin's app config: django.contrib.admin with Jicai's staff-only site
(``config.admin.JicaiAdminSite``). Kept apart from that module, which imports models and
so cannot load while the app registry is being filled."""

from django.contrib.admin.apps import AdminConfig


class JicaiAdminConfig(AdminConfig):
    default_site = "config.admin.JicaiAdminSite"
