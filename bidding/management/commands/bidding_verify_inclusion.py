"""Check that a downloaded bid receipt is included in its round's bid log under the head
published when bidding closed, and show the proof.

Usage::

    python manage.py bidding_verify_inclusion receipt.json

Rebuilds the log entry from the receipt itself (its content, hash, server time and ``log``
section), recomputes the inclusion proof from the stored log, prints every step, checks
that the head printed on the receipt is a prefix of the published head (a consistency
proof), and checks the receipt's own hash. Exit status 0 when everything holds; otherwise
an error saying what failed (docs/sealed-bidding.md, "Bid log").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bidding import sealing
from bidding.services.log import log_inclusion
from procurement.models import Round

PROBLEMS = {
    "not_published": "the round's bid log head is not published yet (bidding has not closed)",
    "malformed": "the receipt has no valid bid log section",
    "other_round": "the receipt belongs to another round",
    "no_such_position": "no entry under the published head has the receipt's position",
    "not_included": "the entry the receipt describes does not lead to the published head",
    "receipt_head_inconsistent": (
        "the head on the receipt is not a prefix of the published head (the log was rewritten)"
    ),
}


class Command(BaseCommand):
    help = "Check a bid receipt's inclusion in its round's published bid log; show the proof."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("receipt", help="A receipt file downloaded from the receipt page.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["receipt"])
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path} is not a JSON receipt: {exc}") from None
        content = document.get("content") if isinstance(document, dict) else None
        code = content.get("round") if isinstance(content, dict) else None
        round_ = Round.objects.filter(code=str(code)).first() if code else None
        if round_ is None:
            raise CommandError(f"{path}: no round {code!r} (is this a bid receipt?)")
        out = self.stdout.write
        hash_ok = sealing.receipt_verify(document)
        out(f"round:          {round_.code}")
        out(f"receipt hash:   {document.get('hash')} ({'intact' if hash_ok else 'MISMATCH'})")
        check = log_inclusion(round_=round_, receipt=document)
        if check.head is not None:
            out(f"published head: {check.head.closed_root} ({check.head.closed_size} entries)")
        if check.entry is not None:
            out(f"position:       {check.position}")
            out(f"leaf hash:      {check.leaf_hash}")
            for number, step in enumerate(check.steps, start=1):
                out(f"step {number}: sibling {step.sibling} on the {step.side} -> {step.result}")
            out(f"recomputed:     {check.computed_root}")
        if not hash_ok:
            raise CommandError("MISMATCH: the receipt's content does not hash to its hash")
        if not check.ok:
            raise CommandError(f"NOT INCLUDED: {PROBLEMS.get(check.problem, check.problem)}")
        out(self.style.SUCCESS("OK: the receipt is included under the published head"))
