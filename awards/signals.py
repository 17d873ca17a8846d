"""Signals the award sends so that higher apps (reports) can act on its events without
awards importing them (the import direction is accounts ← … ← awards ← contracts ← reports).

Receivers hold no business logic of their own: they call their app's service.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent by ``awards.services.award_finalize`` inside its transaction, once the round is
# awarded; keyword arguments ``round_`` (the locked round) and ``by`` (the office user).
# A receiver that queues work does it with ``transaction.on_commit``.
round_finalized = Signal()

# Sent by ``awards.services`` (storing a run) inside its transaction when a re-run of a
# final award becomes the official result: the province selection's run of a drug round,
# or the run applying the hospitals' choices for their lost volume (consumable rounds).
# The winners and prices are the same; the provinces and volumes may not be, so what was
# published at finalization (the award-result PDF) may be out of date. Keyword arguments
# ``round_`` (the locked round) and ``run`` (the run now official: its rows may be another
# run's, ``run.source_run``). A receiver that queues work does it with
# ``transaction.on_commit``.
final_allocation_changed = Signal()
