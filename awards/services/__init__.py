"""State changes of the award, by sub-domain; every public name is re-exported here, so
callers write ``from awards import services`` and ``services.evaluation_request(...)``.

* ``evaluation``: asking for evaluation runs and scenarios, retrying, comparing them;
* ``storing``: executing a queued run (the task): solve, store, make it official;
* ``objections``: the objection period, objections and answers, finalizing the award;
* ``selection``: province selection of a final drug round (the draft);
* ``reassignment``: the hospitals' choice of winners for their lost volume (consumables);
* ``base``: the round lock, the official run, run stages, batched inserts.
"""

from awards.services.base import (
    BATCH_SIZE,
    EVALUABLE,
    NO_AWARD_STATUSES,
    STAGE_QUEUED,
    insert_batched,
    local_time_text,
    lock_round,
    official_run_get,
)
from awards.services.evaluation import (
    evaluation_comparison,
    evaluation_request,
    evaluation_retry,
)
from awards.services.objections import (
    award_finalize,
    finalize_refusal,
    notify_results_published,
    objection_days,
    objection_dismiss,
    objection_file,
    objection_period_extend,
    objection_period_open,
    objection_uphold,
)
from awards.services.reassignment import (
    CHOICE_RULE_KINDS,
    ChoiceSummary,
    LostItem,
    LostProduct,
    WinnerOption,
    choice_rounds_for_hospital,
    choice_run,
    choice_run_blocker,
    choice_window_blocker,
    lost_volume_choice_set,
    lost_volume_choice_summary,
    lost_volume_choices_apply,
    lost_volume_items,
)
from awards.services.selection import (
    DraftBoard,
    DraftPick,
    draft_board,
    draft_boards,
    selection_backups_set,
    selection_close,
    selection_deadline_check,
    selection_open,
    selection_pick,
)
from awards.services.storing import evaluation_execute, evaluation_fail

__all__ = [
    "BATCH_SIZE",
    "CHOICE_RULE_KINDS",
    "EVALUABLE",
    "NO_AWARD_STATUSES",
    "STAGE_QUEUED",
    "ChoiceSummary",
    "DraftBoard",
    "DraftPick",
    "LostItem",
    "LostProduct",
    "WinnerOption",
    "award_finalize",
    "choice_rounds_for_hospital",
    "choice_run",
    "choice_run_blocker",
    "choice_window_blocker",
    "draft_board",
    "draft_boards",
    "evaluation_comparison",
    "evaluation_execute",
    "evaluation_fail",
    "evaluation_request",
    "evaluation_retry",
    "finalize_refusal",
    "insert_batched",
    "local_time_text",
    "lock_round",
    "lost_volume_choice_set",
    "lost_volume_choice_summary",
    "lost_volume_choices_apply",
    "lost_volume_items",
    "notify_results_published",
    "objection_days",
    "objection_dismiss",
    "objection_file",
    "objection_period_extend",
    "objection_period_open",
    "objection_uphold",
    "official_run_get",
    "selection_backups_set",
    "selection_close",
    "selection_deadline_check",
    "selection_open",
    "selection_pick",
]
