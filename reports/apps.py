from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports and publication")

    def ready(self) -> None:
        from awards.signals import final_allocation_changed, round_finalized
        from reports.services import award_result_on_allocation_change, award_result_on_finalize

        # The award-result PDF is generated as soon as a round's award is final, and again
        # when a re-run of it (province selection, hospitals' choices) becomes official.
        round_finalized.connect(award_result_on_finalize, dispatch_uid="reports.award_result")
        final_allocation_changed.connect(
            award_result_on_allocation_change, dispatch_uid="reports.award_result_again"
        )
        # The OCDS release package is rebuilt, in the background, on the same events.
        from reports.open_data import on_award_changed

        round_finalized.connect(on_award_changed, dispatch_uid="reports.open_data")
        final_allocation_changed.connect(on_award_changed, dispatch_uid="reports.open_data_again")
