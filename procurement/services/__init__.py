"""State changes of the procurement app, by sub-domain; every name is re-exported here so
callers write ``services.round_open_bidding(...)``.

* ``rule_sets``: the ready-made presets, revisions, which rule kinds fit which rounds;
* ``lifecycle``: a round's creation, items, transitions, timetable and deadline sweep, and
  when its procurement document counts as published (``round_is_published``);
* ``ceilings``: maximum valid bid prices and reference prices (form and spreadsheet);
* ``demand``: declaring demand (web table, upload, API), with ``demand_lines`` (codes
  resolved) and ``demand_write`` (bulk writes);
* ``collated``: the office's collated demand, checked and imported by tasks.
"""

from procurement.services.ceilings import (
    CEILING_COLUMNS,
    ceiling_import,
    round_item_set_prices,
    round_item_write_prices,
    round_prices_set,
)
from procurement.services.collated import demand_collated_import_run, demand_collated_preview_run
from procurement.services.demand import (
    DEMAND_HOSPITAL,
    DEMAND_ITEM,
    DEMAND_MODEL,
    DEMAND_QUANTITY,
    DEMAND_REGISTRATION,
    DEMAND_SPECIFICATION,
    DemandLine,
    demand_apply,
    demand_columns,
    demand_declare,
    demand_import,
    demand_lines_frame,
    demand_remove,
)
from procurement.services.lifecycle import (
    ALLOWED_TRANSITIONS,
    DIRECT_AFTER_PUBLICATION,
    PUBLISHED_STATES,
    TIMETABLE_EDITABLE,
    round_add_items,
    round_advance,
    round_cancel,
    round_close_bidding,
    round_close_demand,
    round_create,
    round_deadline_check,
    round_is_published,
    round_item_set_rule_set,
    round_open_bidding,
    round_open_demand,
    round_require_bid_period,
    round_require_editable,
    round_set_rule_set,
    round_timetable_write,
    round_update_timetable,
    when_shown,
)
from procurement.services.rule_sets import (
    rule_set_load_presets,
    rule_set_require_fits,
    rule_set_revise,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CEILING_COLUMNS",
    "DEMAND_HOSPITAL",
    "DEMAND_ITEM",
    "DEMAND_MODEL",
    "DEMAND_QUANTITY",
    "DEMAND_REGISTRATION",
    "DEMAND_SPECIFICATION",
    "DIRECT_AFTER_PUBLICATION",
    "PUBLISHED_STATES",
    "TIMETABLE_EDITABLE",
    "DemandLine",
    "ceiling_import",
    "demand_apply",
    "demand_collated_import_run",
    "demand_collated_preview_run",
    "demand_columns",
    "demand_declare",
    "demand_import",
    "demand_lines_frame",
    "demand_remove",
    "round_add_items",
    "round_advance",
    "round_cancel",
    "round_close_bidding",
    "round_close_demand",
    "round_create",
    "round_deadline_check",
    "round_is_published",
    "round_item_set_prices",
    "round_item_set_rule_set",
    "round_item_write_prices",
    "round_open_bidding",
    "round_open_demand",
    "round_prices_set",
    "round_require_bid_period",
    "round_require_editable",
    "round_set_rule_set",
    "round_timetable_write",
    "round_update_timetable",
    "rule_set_load_presets",
    "rule_set_require_fits",
    "rule_set_revise",
    "when_shown",
]
