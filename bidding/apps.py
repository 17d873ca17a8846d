from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiddingConfig(AppConfig):
    name = "bidding"
    verbose_name = _("Sealed bidding")

    def ready(self) -> None:
        from bidding import receivers
        from procurement.signals import bidding_closed

        bidding_closed.connect(receivers.log_head_on_bidding_closed, dispatch_uid="bidding-log")
