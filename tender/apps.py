from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenderConfig(AppConfig):
    name = "tender"
    verbose_name = _("Procurement documents, amendments and clarifications")

    def ready(self) -> None:
        from procurement.signals import round_published
        from tender import receivers

        round_published.connect(receivers.document_on_round_published, dispatch_uid="tender")
