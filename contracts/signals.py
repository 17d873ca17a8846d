"""Signals contracts sends so that higher apps (reports) can act on its events without
contracts importing them (the import direction is accounts ← … ← contracts ← reports).

Receivers hold no business logic of their own: they call their app's service.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent by ``contracts.services.award_finalize`` inside its transaction, once the round is
# awarded; keyword arguments ``round_`` (the locked round) and ``by`` (the office user).
# A receiver that queues work does it with ``transaction.on_commit``.
round_finalized = Signal()
