"""Check a downloaded bid receipt, without Django and without trusting the platform.

Usage::

    python -m bidding.verify_receipt receipt.json [published-hash]

Recomputes SHA-256 over the canonical receipt document and compares it with the hash in
the file and, when given, with the hash published on the opening record. Exit status 0
when everything matches, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bidding.sealing import receipt_hash, receipt_verify


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    document = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    published = argv[1] if len(argv) == 2 else None
    computed = receipt_hash(document)
    print(f"computed hash:  {computed}")
    print(f"receipt hash:   {document.get('hash')}")
    if published:
        print(f"published hash: {published}")
    ok = receipt_verify(document, expected_hash=published)
    print("OK: the receipt is intact" if ok else "MISMATCH: the receipt does not verify")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
