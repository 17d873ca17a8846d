"""``python manage.py verify_contract_signatures CONTRACT``: verify a contract's
signatures independently of the pages and the PDF (docs/signatures.md).

For each party it rebuilds the canonical content from the contract's rows as they are
now, compares it with what the party signed and verifies the signature with the party's
registered public key. Exit status 0 when every party's signature is valid, 1 otherwise
(a signature missing, invalid, or the contract changed since it was signed).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from contracts.models import Contract
from contracts.signatures import INVALID, VALID, contract_signatures_verify

REASONS = {
    "content_changed": "the contract's rows no longer match the content signed",
    "signature_mismatch": "the signature does not verify over the content with the key",
}


class Command(BaseCommand):
    help = "Verify each party's signature of a contract (by number or id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("contract", help="contract number (or database id)")

    def handle(self, *args: Any, **options: Any) -> None:
        ref = str(options["contract"]).strip()
        contract = (
            Contract.objects.select_related("round", "hospital", "manufacturer")
            .filter(number=ref)
            .first()
        )
        if contract is None and ref.isdigit():
            contract = (
                Contract.objects.select_related("round", "hospital", "manufacturer")
                .filter(pk=int(ref))
                .first()
            )
        if contract is None:
            raise CommandError(f"No contract {ref!r}.")
        checks = contract_signatures_verify(contract=contract)
        self.stdout.write(f"contract {contract.number} (round {contract.round.code})")
        ok = True
        for check in checks:
            if check.status == VALID:
                when = timezone.localtime(check.signed_at).isoformat(timespec="seconds")
                self.stdout.write(
                    f"  {check.party}: VALID, signed by {check.signer} at {when} "
                    f"(version {check.version}), key {check.fingerprint}"
                )
            elif check.status == INVALID:
                ok = False
                self.stdout.write(
                    f"  {check.party}: INVALID ({REASONS.get(check.reason, check.reason)}), "
                    f"signed by {check.signer}, key {check.fingerprint}"
                )
            else:
                ok = False
                self.stdout.write(f"  {check.party}: ABSENT (no signature)")
        if not ok:
            raise SystemExit(1)
        self.stdout.write("all signatures valid")
