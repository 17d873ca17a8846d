"""Re-wrap every round's data key under a new master key (key rotation).

Usage, with the NEW key already in JICAI_MASTER_KEY and the old one in another variable::

    JICAI_OLD_MASTER_KEY=<old base64> JICAI_MASTER_KEY=<new base64> \\
        python manage.py bidding_rotate_master_key

Only the small wrapped-key rows change; ciphertexts and receipts stay as they are. Rounds
whose key is already wrapped by the new master key are skipped, so the command can be
run again safely.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bidding import sealing
from bidding.keys import master_key, round_keys_rewrap


class Command(BaseCommand):
    help = "Re-wrap every round's bid-encryption key under the configured JICAI_MASTER_KEY."
    # The key check (bidding.checks) refuses the new key until the stored keys are
    # re-wrapped, which is what this command does: it checks both keys itself.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--old-key-variable",
            default="JICAI_OLD_MASTER_KEY",
            help="Environment variable holding the old master key (base64).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        variable = options["old_key_variable"]
        text = os.environ.get(variable, "")
        try:
            old = sealing.parse_master_key(text)
            new = master_key()
        except sealing.MasterKeyError as exc:
            raise CommandError(f"{exc} (old key read from {variable})") from exc
        if old == new:
            raise CommandError("The old and the new master key are the same.")
        count = round_keys_rewrap(old_master_key=old, new_master_key=new)
        self.stdout.write(
            f"Re-wrapped {count} round key(s): {sealing.key_fingerprint(old)} -> "
            f"{sealing.key_fingerprint(new)}."
        )
