"""State changes of sealed bidding, by sub-domain; every name is re-exported here so
callers write ``services.bid_submit(...)``.

* ``deadline``: the server's clock and the round lock that order bids against the deadline;
* ``terms``: what a bid says (terms, sheet lines, receipts) and the checks on it;
* ``versions``: sealing a version and decrypting one (audited);
* ``submission``: submit, revise, withdraw, a whole bid sheet;
* ``unsealing``: reading sealed terms for an allowed reader, each read audited;
* ``opening``: the public opening (with the key the ceremony rebuilt) and the sweep that
  closes bidding of due rounds;
* ``ceremony``: the round's opening officials, their passphrases, the k-of-n key and the
  opening ceremony.
* ``log``: the tamper-evident bid log (append, publish at close, proofs, the opening's check);
* ``tampering``: the office's decision on a bid the opening judged tampered.

No price and no capacity appear in any exception message or log line of these modules.
"""

from bidding.services.ceremony import (
    ceremony_present,
    ceremony_state,
    custody_designate,
    official_enroll,
)
from bidding.services.opening import opening_due_check, round_open_bids
from bidding.services.submission import bid_revise, bid_sheet_submit, bid_submit, bid_withdraw
from bidding.services.tampering import tampered_bid_decide
from bidding.services.terms import (
    BidLine,
    BidReceipt,
    BidTerms,
    bid_terms_validate,
    bid_warnings,
    product_code,
    server_time_text,
)
from bidding.services.unsealing import (
    bid_sheet_unseal,
    bid_terms_unseal,
    bid_version_receipt,
)

__all__ = [
    "BidLine",
    "BidReceipt",
    "BidTerms",
    "bid_revise",
    "bid_sheet_submit",
    "bid_sheet_unseal",
    "bid_submit",
    "bid_terms_unseal",
    "bid_terms_validate",
    "bid_version_receipt",
    "bid_warnings",
    "bid_withdraw",
    "ceremony_present",
    "ceremony_state",
    "custody_designate",
    "official_enroll",
    "opening_due_check",
    "product_code",
    "round_open_bids",
    "server_time_text",
    "tampered_bid_decide",
]
