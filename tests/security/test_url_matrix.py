"""Who may use every URL of the project: one declared table, exercised on the demo data.

Every URL pattern of the project (``config/urls.py`` and everything it includes: pages,
``/api/v1/``, the API schema and docs) must have an entry in ``URLS`` below, and every
entry must name a URL that exists. An entry says which kinds of user may use the URL, what
an allowed GET answers, which other methods it takes, and whether it is about one
organization's object. Each entry is then requested by an anonymous visitor, the office,
a second office, ``hospital01``, ``hospital16``, a hospital of a province outside the
rounds (Tibet), ``maker01`` and ``maker02`` on the demo data (an awarded round and a round
still in bidding with two sealed bids):

* anonymous → the login page (pages) or 401 (API), unless the URL is public;
* a kind not allowed → 403; another organization than the object's → ``stranger``
  (404 where the object is looked up among the user's own, as the selectors do); a
  hospital outside a round's provinces → 404 on the round's pages (``provinces``);
* an allowed user → the declared status, never a 500;
* every other method the URL takes (POST, DELETE) is sent by each user *not* allowed to
  use it, and must be refused and change nothing in the database (allowed users' POSTs,
  which would change state, are not sent);
* no response to anybody contains what belongs to another organization: the sealed bids'
  prices, capacities and receipts (before the opening only their bidder sees them), the
  hospitals' declared quantities, hospital01's purchases and objection (``_markers``);
  ``SHOWN`` proves each of them is found where it may be seen.

Then, apart: the Django admin is staff only, every one of its URLs; a URL to a missing
object is a 404 and odd query parameters are never a 500; every POST and DELETE of an
allowed user needs the CSRF token; naming another organization's object in a request
(``INTRUSIONS``) is refused and changes nothing.

How to add a URL: add its entry to ``URLS`` (docs/architecture.md, "Access").
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.admin import site
from django.db import connection, transaction
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.translation import gettext

from accounts.models import SigningKey
from bidding.models import OpenedBid
from contracts.models import SupplyFailure
from contracts.services import PurchaseLine
from qualification.models import QualificationDocument
from tender.models import Clarification
from tests.security.world import (
    CAPACITY,
    HOSPITAL_QUANTITY,
    KIND,
    OUTSIDE,
    PENDING_QUESTION,
    PRICE,
    PURCHASED,
    RIVAL_CAPACITY,
    RIVAL_HOSPITAL_QUANTITY,
    RIVAL_PRICE,
    ROLES,
    STRANGERS,
    USERNAMES,
    Scene,
    World,
    build_world,
)

pytestmark = pytest.mark.django_db

# Kinds of user. "anonymous" in an entry's ``who`` makes the URL public.
PUBLIC = frozenset({"anonymous", "office", "hospital", "manufacturer"})
SIGNED_IN = frozenset({"office", "hospital", "manufacturer"})
OFFICE = frozenset({"office"})
HOSPITAL = frozenset({"hospital"})
MANUFACTURER = frozenset({"manufacturer"})
PARTY = frozenset({"hospital", "manufacturer"})  # hospitals and manufacturers
OFFICE_HOSPITAL = frozenset({"office", "hospital"})
OFFICE_MANUFACTURER = frozenset({"office", "manufacturer"})

LOGIN = "login"  # a redirect to the sign-in page
BOTH = ("awarded", "bidding")  # the round-scoped URLs run on both rounds


@dataclass(frozen=True)
class Url:
    """Who may use one URL name (in one or both scenes), and what they get.

    ``own`` lists the kinds for which the URL is about one organization's object (the
    object belongs to ``office``, ``hospital01`` or ``maker01``); the other organization
    of that kind gets ``stranger``. ``unsafe`` are the methods besides GET the URL takes;
    they are sent by every user not allowed to use them (``unsafe_who``, default ``who``;
    a kind allowed to GET but not to POST gets ``unsafe_refused``). ``exceptions`` maps a
    role (or ``"POST role"``) to a status where the general rule does not hold, and says
    why in a comment beside it.
    """

    name: str
    who: frozenset[str]
    get: int = 200
    unsafe: tuple[str, ...] = ()
    unsafe_who: frozenset[str] | None = None
    unsafe_refused: int = 403
    own: frozenset[str] = frozenset()
    provinces: bool = False  # about a round: a hospital outside its provinces gets 404
    stranger: int = 404
    stranger_unsafe: int | None = None  # default: ``stranger``
    scenes: tuple[str, ...] = ("awarded",)
    args: Mapping[str, Callable[[Scene], object]] = field(default_factory=dict)
    body: Mapping[str, object] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    exceptions: Mapping[str, int | str] = field(default_factory=dict)

    @property
    def api(self) -> bool:
        return self.name.startswith("api-") and self.name not in {"api-schema", "api-docs"}

    def expected(self, role: str, method: str = "GET") -> int | str:
        key = role if method == "GET" else f"{method} {role}"
        if key in self.exceptions:
            return self.exceptions[key]
        kind = KIND[role]
        if "anonymous" not in self.who and kind not in self.who:
            return self._unauthorized(kind)
        if method != "GET":
            allowed = self.unsafe_who if self.unsafe_who is not None else self.who
            if "anonymous" not in allowed and kind not in allowed:
                return self._unauthorized(kind) if kind == "anonymous" else self.unsafe_refused
            if role == OUTSIDE and self.provinces:
                return 404
            return self.stranger_unsafe if self.stranger_unsafe is not None else self.stranger
        if self.get == 405:  # the method is refused before any lookup
            return 405
        if role == OUTSIDE and self.provinces:
            return 404
        if role in STRANGERS and kind in self.own:
            return self.stranger
        return self.get

    def refused(self, role: str) -> bool:
        """Is ``role`` refused the unsafe methods (so the matrix sends them)?"""
        kind = KIND[role]
        allowed = self.unsafe_who if self.unsafe_who is not None else self.who
        if "anonymous" not in allowed and kind not in allowed:
            return True
        return (role in STRANGERS and kind in self.own) or (role == OUTSIDE and self.provinces)

    def _unauthorized(self, kind: str) -> int | str:
        if kind == "anonymous":
            return 401 if self.api else LOGIN
        return 403


def _rule_set(scene: Scene) -> object:
    return scene.rule_set.pk


def _declaration(scene: Scene) -> object:
    return scene.declaration.pk


def _pending_question(scene: Scene) -> object:
    """maker01's unanswered question on the round in bidding."""
    return Clarification.objects.get(round=scene.round, question=PENDING_QUESTION).pk


def _maker_document(scene: Scene) -> object:
    """maker01's business licence (seed_demo's approved documents)."""
    return QualificationDocument.objects.get(
        organization__users__username="maker01", kind="business_licence"
    ).pk


def _maker_key(scene: Scene) -> object:
    """maker01's signing key (seed_demo registers one for each demo signer)."""
    return SigningKey.objects.filter(user__username="maker01").values_list("pk", flat=True)[0]


# What a signed-in user gets on the sign-in page: sent on to its home page.
_SIGNED_IN_REDIRECTED: dict[str, int | str] = {r: 302 for r in ROLES if r != "anonymous"}
_IDEMPOTENT = {"HTTP_IDEMPOTENCY_KEY": "url-matrix-refused-request"}
_REVISE = {"product": 0, "unit_price": "0.0100", "annual_capacity": 1}

URLS: list[Url] = [
    # --- sign-in, homes, language (accounts) ---------------------------------------------
    Url("favicon.ico", PUBLIC, get=301),
    Url("accounts:home", SIGNED_IN, get=302),  # on to the role's home page
    Url("accounts:login", PUBLIC, exceptions=_SIGNED_IN_REDIRECTED),
    Url("accounts:logout", PUBLIC, get=405),  # POST only; anyone may sign out
    Url("accounts:password-change", SIGNED_IN, unsafe=("POST",)),
    Url("accounts:password-changed", SIGNED_IN),
    Url("accounts:language", PUBLIC, get=405),  # POST only, anyone
    Url("accounts:office-home", OFFICE),
    Url("accounts:hospital-home", HOSPITAL),
    Url("accounts:manufacturer-home", MANUFACTURER),
    # --- catalog: national catalog, imports by any office -------------------------------
    Url("catalog:items", OFFICE),
    Url("catalog:products", MANUFACTURER),  # its own products
    Url("catalog:product-register", MANUFACTURER, unsafe=("POST",)),
    Url("catalog:organization-import", OFFICE, unsafe=("POST",)),
    Url("catalog:organization-import-template", OFFICE),
    Url("catalog:product-import", OFFICE, unsafe=("POST",)),
    Url("catalog:product-import-template", OFFICE),
    # --- rounds (procurement): the office's own; others see published rounds ------------
    Url("procurement:rounds", SIGNED_IN),
    Url("procurement:round-create", OFFICE, unsafe=("POST",)),
    Url("procurement:rule-sets", SIGNED_IN),  # the national rule sets are public to users
    Url(
        "procurement:rule-set",
        SIGNED_IN,
        args={"pk": _rule_set},
        unsafe=("POST",),
        unsafe_who=OFFICE,  # any office revises a rule set (a frozen one into a new version)
        unsafe_refused=404,
    ),
    Url("procurement:api-token", PARTY, unsafe=("POST",)),  # POST creates one of the user's own
    # Revokes one of the user's own tokens, named in the body (another's: "no such token").
    Url("procurement:api-token-revoke", PARTY, get=405, unsafe=("POST",)),
    Url("procurement:round", SIGNED_IN, own=OFFICE, provinces=True, scenes=BOTH),
    Url("procurement:round-transition", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("procurement:round-cancel", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("procurement:round-timetable", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("procurement:round-rule-set", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url(
        "procurement:round-item-rule-set",
        OFFICE,
        get=405,
        unsafe=("POST",),
        own=OFFICE,
        scenes=BOTH,
        args={"round_item_id": lambda s: s.round.items.order_by("pk").first().pk},  # type: ignore[union-attr]
    ),
    Url("procurement:round-prices", OFFICE, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("procurement:ceiling-import", OFFICE, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("procurement:ceiling-template", OFFICE, own=OFFICE, scenes=BOTH),
    # A hospital's demand pages show its own lines of any round of its province.
    Url("procurement:demand", HOSPITAL, unsafe=("POST",), provinces=True, scenes=BOTH),
    Url("procurement:demand-upload", HOSPITAL, unsafe=("POST",), provinces=True, scenes=BOTH),
    Url("procurement:demand-template", HOSPITAL, provinces=True, scenes=BOTH),
    Url(
        "procurement:demand-remove",
        HOSPITAL,
        get=405,
        unsafe=("POST",),
        own=HOSPITAL,
        stranger_unsafe=302,  # back to its demand table, told the line is not its own
        args={"pk": _declaration},
        provinces=True,
        scenes=BOTH,
    ),
    Url("procurement:demand-history", OFFICE_HOSPITAL, own=OFFICE, provinces=True, scenes=BOTH),
    Url("procurement:demand-totals", OFFICE, own=OFFICE, scenes=BOTH),
    Url("procurement:demand-totals-xlsx", OFFICE, own=OFFICE, scenes=BOTH),
    Url("procurement:demand-missing-xlsx", OFFICE, own=OFFICE, scenes=BOTH),
    Url("procurement:demand-office-import", OFFICE, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("procurement:demand-office-import-status", OFFICE, own=OFFICE, scenes=BOTH),
    # --- sealed bids (bidding) ----------------------------------------------------------
    Url("bidding:home", MANUFACTURER),
    Url("bidding:openings", PUBLIC),
    Url("bidding:sheet", MANUFACTURER, unsafe=("POST",), scenes=BOTH),  # its own sheet
    Url("bidding:sheet-template", MANUFACTURER, scenes=BOTH),  # the round's blank template
    Url("bidding:sheet-upload", MANUFACTURER, unsafe=("POST",), scenes=BOTH),  # its own file
    Url("bidding:round-bids", MANUFACTURER, scenes=BOTH),  # its own bids
    Url("bidding:round-status", OFFICE, own=OFFICE, scenes=BOTH),
    Url("bidding:open", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("bidding:ceremony", OFFICE, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("bidding:opening", PUBLIC, scenes=BOTH),  # before the opening: says when it is
    Url("bidding:opening-csv", PUBLIC),
    Url("bidding:log", PUBLIC, scenes=BOTH),  # the bid log head and inclusion proofs
    Url(
        "bidding:tamper-decide",
        OFFICE,
        get=405,
        unsafe=("POST",),
        own=OFFICE,
        args={"opened_id": lambda s: OpenedBid.objects.filter(opening__round=s.round).first().pk},
    ),
    Url("bidding:opening-csv", PUBLIC, get=404, scenes=("bidding",)),  # nothing opened yet
    Url("bidding:bid-detail", MANUFACTURER, own=MANUFACTURER, scenes=BOTH),
    Url(
        "bidding:withdraw",
        MANUFACTURER,
        get=405,
        unsafe=("POST",),
        own=MANUFACTURER,
        scenes=BOTH,
    ),
    Url("bidding:receipt", MANUFACTURER, own=MANUFACTURER, scenes=BOTH),
    Url("bidding:receipt-download", MANUFACTURER, own=MANUFACTURER, scenes=BOTH),
    # --- awards, selection, contracts, execution (contracts) ----------------------------
    Url("awards:round", OFFICE, own=OFFICE, scenes=BOTH),
    Url("awards:evaluate", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("awards:scenario", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("awards:objection-period", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("awards:objection-extend", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("awards:finalize", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("awards:results", PUBLIC),
    Url("awards:results", PUBLIC, get=404, scenes=("bidding",)),  # nothing published
    # Any hospital or manufacturer may object to published results (the service checks
    # the objection period).
    Url("awards:objection-new", PARTY, unsafe=("POST",)),
    Url("awards:objection-new", PARTY, get=404, unsafe=("POST",), scenes=("bidding",)),
    # The office of the round and the winners (maker02 is one of the awarded round too).
    Url("awards:selection", OFFICE_MANUFACTURER, unsafe=("POST",), own=OFFICE),
    Url(
        "awards:selection",
        OFFICE_MANUFACTURER,
        get=404,  # no selection before the award
        unsafe=("POST",),
        own=OFFICE,
        scenes=("bidding",),
    ),
    Url("awards:selection-open", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("awards:selection-close", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("awards:run", OFFICE, own=OFFICE),
    Url("awards:run-progress", OFFICE, own=OFFICE),
    Url("awards:run-retry", OFFICE, get=405, unsafe=("POST",), own=OFFICE),
    Url("contracts:contracts-generate", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    # Polled by htmx; a plain GET is sent back to the award page.
    Url("contracts:contracts-status", OFFICE, get=302, own=OFFICE, scenes=BOTH),
    Url("contracts:execution-start", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("contracts:contracts", SIGNED_IN),  # each its own (the office: of its rounds)
    Url("contracts:contract", SIGNED_IN, own=SIGNED_IN),
    Url("contracts:contract-confirm", PARTY, get=405, unsafe=("POST",), own=PARTY),
    # Polled by htmx; a plain GET is sent back to the contract page. POST asks again.
    Url("contracts:contract-pdf-status", SIGNED_IN, get=302, unsafe=("POST",), own=SIGNED_IN),
    Url("contracts:contract-amend", OFFICE, get=405, unsafe=("POST",), own=OFFICE),
    # The office of the round renders every contract PDF of it in the background.
    Url("contracts:contract-pdf-batch-start", OFFICE, get=405, unsafe=("POST",), own=OFFICE),
    Url("contracts:contract-pdf-batch", OFFICE, own=OFFICE),
    # Polled by htmx; a plain GET is sent back to the batch page.
    Url("contracts:contract-pdf-batch-progress", OFFICE, get=302, own=OFFICE),
    Url("contracts:contract-pdf-batch-again", OFFICE, get=405, unsafe=("POST",), own=OFFICE),
    Url("contracts:contract-pdf", SIGNED_IN, own=SIGNED_IN, args={"language": lambda s: "zh"}),
    Url("contracts:purchases", HOSPITAL, unsafe=("POST",)),  # its own purchases
    Url("contracts:purchases-upload", HOSPITAL, get=302, unsafe=("POST",)),  # GET: to the form
    Url("contracts:progress", SIGNED_IN),
    Url("contracts:supply-failures", SIGNED_IN),
    # The office of the round, and hospitals and manufacturers with a contract in it (so
    # no hospital outside its provinces).
    Url("contracts:supply-failure-new", SIGNED_IN, unsafe=("POST",), own=OFFICE, provinces=True),
    Url(
        "contracts:supply-failure-new",
        SIGNED_IN,
        get=404,  # nobody has a contract in a round still in bidding
        unsafe=("POST",),
        own=SIGNED_IN,
        scenes=("bidding",),
    ),
    Url("contracts:supplier-switch", OFFICE, unsafe=("POST",), own=OFFICE),
    Url("awards:objections", SIGNED_IN),  # the office: of its rounds; a party: its own
    Url("awards:objection-answer", OFFICE, unsafe=("POST",), own=OFFICE),
    Url("awards:mine", PARTY),
    Url("contracts:notifications", SIGNED_IN),
    # Consumable rounds only, once results are published: both demo rounds are drugs.
    Url("awards:lost-volume", HOSPITAL, get=404, unsafe=("POST",), scenes=BOTH),
    # --- reports -----------------------------------------------------------------------
    Url("reports:public-index", PUBLIC),
    Url("reports:round-history", OFFICE, own=OFFICE, scenes=BOTH),
    Url("reports:public-round", PUBLIC),
    Url("reports:public-round", PUBLIC, get=404, scenes=("bidding",)),  # not published
    Url("reports:award-pdf", PUBLIC, args={"language": lambda s: "zh-hans"}),
    Url(
        "reports:award-pdf",
        PUBLIC,
        get=404,
        args={"language": lambda s: "zh-hans"},
        scenes=("bidding",),
    ),
    Url("reports:public-xlsx", PUBLIC),
    Url("reports:public-xlsx", PUBLIC, get=404, scenes=("bidding",)),
    Url("reports:ocds", PUBLIC),
    # Before the award only the office of the round reads it, and only once evaluated.
    Url("reports:ocds", PUBLIC, get=404, scenes=("bidding",)),
    Url("reports:ocds-index", PUBLIC),
    Url("reports:ocds-index", PUBLIC, get=404, scenes=("bidding",)),
    Url("reports:ocds-part", PUBLIC, args={"number": lambda s: 1}),
    Url("reports:ocds-part", PUBLIC, get=404, args={"number": lambda s: 1}, scenes=("bidding",)),
    Url("reports:office-xlsx", OFFICE, own=OFFICE),
    Url("reports:office-xlsx", OFFICE, get=404, own=OFFICE, scenes=("bidding",)),
    Url("reports:office-analysis", OFFICE, own=OFFICE),
    Url("reports:office-analysis", OFFICE, get=404, own=OFFICE, scenes=("bidding",)),
    Url("reports:publish", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("reports:ocds-rebuild", OFFICE, get=405, unsafe=("POST",), own=OFFICE),
    Url("reports:award-job-progress", OFFICE, own=OFFICE),
    Url("reports:award-job-progress", OFFICE, get=404, own=OFFICE, scenes=("bidding",)),
    Url("reports:party-job-progress", OFFICE, own=OFFICE),
    Url("reports:party-job-progress", OFFICE, get=404, own=OFFICE, scenes=("bidding",)),
    Url(
        "reports:publish-party-reports",
        OFFICE,
        get=405,
        unsafe=("POST",),
        own=OFFICE,
        scenes=BOTH,
    ),
    # The URL names no organization: each party gets its own report. The demo generated
    # hospital01's and maker01's only, so hospital16 and maker02 find none.
    Url("reports:party-pdf", PARTY, args={"language": lambda s: "zh-hans"}, own=PARTY),
    Url(
        "reports:party-pdf",
        PARTY,
        get=404,  # no report before the award
        args={"language": lambda s: "zh-hans"},
        scenes=("bidding",),
    ),
    # --- procurement documents, amendments, clarifications (tender) -----------------------
    # Public once bidding has opened: the document, its versions, notices and answers.
    Url("tender:round", PUBLIC, scenes=BOTH),
    Url(
        "tender:document-pdf",
        PUBLIC,
        args={"number": lambda s: 1, "language": lambda s: "zh-hans"},
        scenes=("bidding",),
    ),
    Url(
        "tender:document-pdf",
        PUBLIC,
        get=404,  # the demo renders its PDFs after its transaction; the matrix's never commits
        args={"number": lambda s: 1, "language": lambda s: "zh-hans"},
        scenes=("awarded",),
    ),
    Url("tender:notice", PUBLIC, args={"number": lambda s: 1}, scenes=("bidding",)),
    Url("tender:notice", PUBLIC, get=404, args={"number": lambda s: 1}, scenes=("awarded",)),
    # The office of the round sees every question (with who asked); a manufacturer its own
    # and asks; the office is refused the asking.
    Url(
        "tender:questions",
        OFFICE_MANUFACTURER,
        unsafe=("POST",),
        unsafe_who=MANUFACTURER,
        own=OFFICE,
        exceptions={"POST office2": 404},  # not its round: nothing to refuse
        scenes=BOTH,
    ),
    Url(
        "tender:answer",
        OFFICE,
        unsafe=("POST",),
        own=OFFICE,
        args={"pk": _pending_question},
        scenes=("bidding",),
    ),
    Url("tender:amend", OFFICE, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    # --- registration and qualification (qualification) -----------------------------------
    # Anyone may ask to register; an organization sees its own documents, the offices all.
    Url("qualification:register", PUBLIC, unsafe=("POST",)),
    Url("qualification:documents", PARTY, unsafe=("POST",)),  # its own, and the upload
    Url(
        "qualification:document",
        SIGNED_IN,
        own=PARTY,
        args={"pk": _maker_document},
        exceptions={"hospital": 404},  # maker01's document: another organization's
    ),
    Url(
        "qualification:document-file",
        SIGNED_IN,
        own=PARTY,
        args={"pk": _maker_document},
        exceptions={"hospital": 404},  # maker01's document: another organization's
    ),
    Url("qualification:review", OFFICE, get=405, unsafe=("POST",), args={"pk": _maker_document}),
    Url(
        "qualification:resubmit",
        PARTY,
        get=405,
        unsafe=("POST",),
        own=PARTY,
        args={"pk": _maker_document},
    ),
    Url("qualification:office", OFFICE),
    Url(
        "qualification:registration-decide",
        OFFICE,
        get=405,
        unsafe=("POST",),
        args={"pk": lambda s: 1},
    ),
    Url("qualification:round-rule", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url(
        "qualification:round-requirements",
        OFFICE,
        get=405,
        unsafe=("POST",),
        own=OFFICE,
        scenes=BOTH,
    ),
    # --- REST API -----------------------------------------------------------------------
    Url("api-schema", PUBLIC),
    Url("api-docs", PUBLIC),
    Url("api-me", SIGNED_IN),
    Url("accounts:signing-keys", PARTY, unsafe=("POST",)),  # its own keys; registering one
    Url(
        "accounts:signing-key-revoke",
        PARTY,
        get=405,
        unsafe=("POST",),
        own=PARTY,
        args={"pk": _maker_key},
    ),
    Url("api-rounds", SIGNED_IN),
    Url("api-round", SIGNED_IN, own=OFFICE, provinces=True, scenes=BOTH),
    Url("api-demand", HOSPITAL, unsafe=("POST",), provinces=True, scenes=BOTH),  # its own lines
    Url(
        "api-demand-line",
        HOSPITAL,
        get=405,
        unsafe=("DELETE",),
        own=HOSPITAL,
        args={"pk": _declaration},
        provinces=True,
        scenes=BOTH,
    ),
    Url("api-bids", MANUFACTURER, unsafe=("POST",)),  # its own bids, without terms
    Url("api-bid", MANUFACTURER, own=MANUFACTURER, scenes=BOTH),
    Url(
        "api-bid-revise",
        MANUFACTURER,
        get=405,
        unsafe=("POST",),
        own=MANUFACTURER,
        body=_REVISE,
        headers=_IDEMPOTENT,
        scenes=BOTH,
    ),
    Url(
        "api-bid-withdraw",
        MANUFACTURER,
        get=405,
        unsafe=("POST",),
        own=MANUFACTURER,
        headers=_IDEMPOTENT,
        scenes=BOTH,
    ),
    Url("api-receipt", MANUFACTURER, own=MANUFACTURER, scenes=BOTH),
    Url("api-opening", PUBLIC),
    Url("api-opening", PUBLIC, get=404, scenes=("bidding",)),  # not opened yet
    Url("api-allocations", PARTY),  # its own
    Url("api-contracts", SIGNED_IN),  # its own (the office: of its rounds)
    Url("api-contract", SIGNED_IN, own=SIGNED_IN),
    # Signed confirmations (docs/signatures.md): the parties' own contracts only.
    Url("api-contract-signing-content", PARTY, own=PARTY),
    Url("api-contract-confirm", PARTY, get=405, unsafe=("POST",), own=PARTY),
    Url("api-signing-keys", PARTY, unsafe=("POST",)),  # its own keys; registering one
    # Everyone reads its own purchases; only hospitals record them.
    Url("api-purchases", SIGNED_IN, unsafe=("POST",), unsafe_who=HOSPITAL),
    Url("api-progress", SIGNED_IN),
    Url("api-evaluations", OFFICE, get=405, unsafe=("POST",), own=OFFICE, scenes=BOTH),
    Url("api-run", OFFICE, own=OFFICE),
    Url("api-round-ocds", PUBLIC),
    Url("api-round-ocds", PUBLIC, get=404, scenes=("bidding",)),  # not awarded yet
    Url("api-round-document", PUBLIC, scenes=BOTH),
    Url("api-round-amendments", PUBLIC, scenes=BOTH),
    # Anyone reads the answered questions; manufacturers ask.
    Url("api-round-clarifications", PUBLIC, unsafe=("POST",), unsafe_who=MANUFACTURER, scenes=BOTH),
    Url("api-my-clarifications", MANUFACTURER, scenes=BOTH),  # its own questions
    Url("api-qualification-documents", PARTY),  # its own documents
    Url(
        "api-clarification-answer",
        OFFICE,
        get=405,
        unsafe=("POST",),
        own=OFFICE,
        args={"pk": _pending_question},
        scenes=("bidding",),
    ),
]


# --- what must never leak ------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """Text that only ``seen_by`` may find in any response."""

    what: str
    patterns: tuple[re.Pattern[str], ...]
    seen_by: frozenset[str]


def _number(text: str) -> re.Pattern[str]:
    """``text`` as a whole number or decimal (not a run of digits inside a longer one or
    a hash); a price may go on with more decimals (1.976300)."""
    tail = r"(?![0-9A-Za-z,])" if "." not in text else r""
    return re.compile(rf"(?<![0-9A-Za-z.,]){re.escape(text)}{tail}")


def _grouped(number: int) -> tuple[str, str]:
    return str(number), f"{number:,}"


def _markers(world: World) -> list[Marker]:
    awarded = world.scenes["awarded"]
    assert awarded.objection is not None
    return [
        # Sealed to the round's k-of-n key: nobody sees them, the bidder included (it got
        # its full receipt once, in the answer to its submission).
        Marker("maker01's sealed price", (_number(PRICE),), frozenset()),
        Marker(
            "maker01's sealed capacity",
            tuple(_number(t) for t in _grouped(CAPACITY)),
            frozenset(),
        ),
        Marker("maker02's sealed price", (_number(RIVAL_PRICE),), frozenset()),
        Marker(
            "maker02's sealed capacity",
            tuple(_number(t) for t in _grouped(RIVAL_CAPACITY)),
            frozenset(),
        ),
        *(
            Marker(
                f"{USERNAMES[bidder]}'s receipt in the round in bidding",
                (re.compile(receipt),),
                frozenset({bidder}),
            )
            for bidder, receipt in world.receipts.items()
        ),
        Marker(
            "hospital01's declared quantity",
            tuple(_number(t) for t in _grouped(HOSPITAL_QUANTITY)),
            frozenset({"hospital", "office"}),
        ),
        Marker(
            "hospital16's declared quantity",
            tuple(_number(t) for t in _grouped(RIVAL_HOSPITAL_QUANTITY)),
            frozenset({"hospital2", "office"}),
        ),
        # Contracts themselves are open data (OCDS); what a hospital buys under them is not.
        Marker(
            "hospital01's purchases from maker01",
            tuple(_number(t) for t in _grouped(PURCHASED)),
            frozenset({"office", "hospital", "maker"}),
        ),
        Marker(
            "maker01's unanswered question",
            (re.compile(re.escape(PENDING_QUESTION)),),
            frozenset({"office", "maker"}),
        ),
        Marker(
            "hospital01's objection",
            (re.compile(re.escape(awarded.objection.text)),),
            frozenset({"office", "hospital"}),
        ),
    ]


def _text(response: HttpResponseBase) -> str:
    """The response's content as text, entities decoded; a spreadsheet's XML parts unzipped."""
    if isinstance(response, StreamingHttpResponse | FileResponse):
        content = b"".join(response.streaming_content)  # type: ignore[arg-type]
    else:
        content = response.content  # type: ignore[attr-defined]
    if content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            text = "\n".join(
                archive.read(name).decode("utf-8", "replace")
                for name in archive.namelist()
                if name.endswith(".xml")
            )
    else:
        text = content.decode("utf-8", "replace")
    return html.unescape(text)


def _leaks(markers: list[Marker], role: str, text: str) -> list[str]:
    return [
        marker.what
        for marker in markers
        if role not in marker.seen_by and any(p.search(text) for p in marker.patterns)
    ]


# --- the URL patterns of the project -------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str  # the URL name (with its namespace), or the route of an unnamed pattern
    route: str
    arguments: tuple[str, ...]


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[Pattern]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, route, inner)
        elif isinstance(entry, URLPattern):
            key = route
            if entry.name:
                key = f"{namespace}:{entry.name}" if namespace else entry.name
            arguments = tuple(entry.pattern.regex.groupindex)
            yield Pattern(key=key, route=route, arguments=arguments)


def _project_patterns() -> tuple[dict[str, Pattern], list[Pattern]]:
    """The project's URL patterns by key, and the admin's apart."""
    project: dict[str, Pattern] = {}
    admin: list[Pattern] = []
    for pattern in _walk(get_resolver()):
        if pattern.route.startswith("admin/"):
            admin.append(pattern)
        else:
            project[pattern.key] = pattern
    return project, admin


PATTERNS, ADMIN_PATTERNS = _project_patterns()

ARGUMENTS: dict[str, Callable[[Scene], object]] = {
    "code": lambda s: s.round.code,
    "round_id": lambda s: s.round.pk,
    "bid_id": lambda s: s.bid.pk,
    "version_id": lambda s: s.version.pk,
    "contract_id": lambda s: s.contract.pk,  # type: ignore[union-attr]
    "run_id": lambda s: s.run.pk,  # type: ignore[union-attr]
    "objection_id": lambda s: s.objection.pk,  # type: ignore[union-attr]
    "failure_id": lambda s: s.failure.pk,  # type: ignore[union-attr]
    "batch_id": lambda s: s.pdf_batch.pk,  # type: ignore[union-attr]
    "token": lambda s: s.upload.token,
}


def _path(url: Url, pattern: Pattern, scene: Scene) -> str:
    kwargs = {}
    for argument in pattern.arguments:
        resolve = url.args.get(argument) or ARGUMENTS.get(argument)
        assert resolve is not None, (
            f"{url.name}: say in its entry (args=...) where <{argument}> comes from"
        )
        kwargs[argument] = resolve(scene)
    if pattern.key == pattern.route:  # unnamed: a fixed path
        return "/" + pattern.route
    return reverse(pattern.key, kwargs=kwargs)


# --- the fixture ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The demo data once for the module, rolled back at the end; each test's own
    transaction nests inside it as a savepoint."""
    media = Path(tmp_path_factory.mktemp("media"))
    with (
        override_settings(MEDIA_ROOT=media),
        django_db_blocker.unblock(),  # type: ignore[attr-defined]
        transaction.atomic(),
    ):
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)


def _fingerprint() -> dict[str, str]:
    """A digest of every table's rows (sessions aside): what a refused request may not change."""
    digests = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in ("django_session", "accounts_hashedsession"):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows = sorted(
                repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
                for row in cursor.fetchall()
            )
            digests[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def _matches(response: object, expected: int | str) -> bool:
    status = response.status_code  # type: ignore[attr-defined]
    if expected == LOGIN:
        location = response.get("Location", "")  # type: ignore[attr-defined]
        return status == 302 and location.startswith(reverse("accounts:login") + "?next=")
    return status == expected


def _send(client: Client, method: str, path: str, url: Url) -> object:
    if url.api:
        return client.generic(
            method,
            path,
            data=json.dumps(dict(url.body)),
            content_type="application/json",
            **url.headers,
        )
    return client.generic(
        method,
        path,
        data=urlencode(dict(url.body)),
        content_type="application/x-www-form-urlencoded",
        **url.headers,
    )


# --- the tests -----------------------------------------------------------------------------


def _keys() -> set[str]:
    return {url.name for url in URLS}


def test_every_url_of_the_project_is_declared() -> None:
    missing = sorted(set(PATTERNS) - _keys())
    assert not missing, (
        "URLs without an entry in tests/security/test_url_matrix.py URLS (say who may use "
        f"them): {missing}"
    )


def test_every_declared_url_exists() -> None:
    stale = sorted(_keys() - set(PATTERNS))
    assert not stale, f"Entries in URLS for URLs that no longer exist: {stale}"


def test_no_url_is_declared_twice_for_the_same_round() -> None:
    seen: set[tuple[str, str]] = set()
    for url in URLS:
        for scene in url.scenes:
            assert (url.name, scene) not in seen, f"{url.name} is declared twice for {scene}"
            seen.add((url.name, scene))


CASES = [(url, scene) for url in URLS for scene in url.scenes]


@pytest.mark.parametrize(("url", "scene_name"), CASES, ids=[f"{u.name}[{s}]" for u, s in CASES])
def test_url_access(world: World, url: Url, scene_name: str) -> None:
    """Every role's GET answers as declared; every role refused the other methods is
    refused them without a change to the database; no response shows another's secret."""
    path = _path(url, PATTERNS[url.name], world.scenes[scene_name])
    markers = _markers(world)
    problems = []
    for role in ROLES:
        response = world.clients[role].get(path)
        expected = url.expected(role)
        if not _matches(response, expected):
            problems.append(f"GET {path} as {role}: {response.status_code}, declared {expected}")
        problems += [
            f"GET {path} as {role} shows {leak}" for leak in _leaks(markers, role, _text(response))
        ]
    for method in url.unsafe:
        refused = [role for role in ROLES if url.refused(role)]
        before = _fingerprint()
        for role in refused:
            response = _send(world.clients[role], method, path, url)
            expected = url.expected(role, method)
            if not _matches(response, expected):
                problems.append(
                    f"{method} {path} as {role}: {response.status_code}, declared {expected}"
                )
            problems += [
                f"{method} {path} as {role} shows {leak}"
                for leak in _leaks(markers, role, _text(response))
            ]
        after = _fingerprint()
        changed = sorted(t for t in before if before[t] != after.get(t))
        if changed:
            problems.append(f"{method} {path} refused to {refused} changed tables {changed}")
    assert not problems, "\n".join(problems)


def _entry(name: str, scene: str) -> Url:
    return next(u for u in URLS if u.name == name and scene in u.scenes)


def _get(world: World, role: str, name: str, scene: str) -> str:
    url = _entry(name, scene)
    response = world.clients[role].get(_path(url, PATTERNS[name], world.scenes[scene]))
    assert response.status_code == 200, (role, name, scene, response.status_code)
    return _text(response)


# Where each secret is shown to whoever may see it: the searches above can find them.
SHOWN = [
    ("maker2", "bidding:round-bids", "bidding", "maker02's receipt in the round in bidding"),
    ("maker", "bidding:receipt", "bidding", "maker01's receipt in the round in bidding"),
    ("hospital", "procurement:demand", "bidding", "hospital01's declared quantity"),
    ("hospital2", "procurement:demand", "bidding", "hospital16's declared quantity"),
    ("office", "procurement:demand-history", "bidding", "hospital01's declared quantity"),
    ("office", "procurement:demand-history", "bidding", "hospital16's declared quantity"),
    ("hospital", "contracts:purchases", "awarded", "hospital01's purchases from maker01"),
    ("office", "awards:objection-answer", "awarded", "hospital01's objection"),
    ("maker", "tender:questions", "bidding", "maker01's unanswered question"),
    ("maker", "api-my-clarifications", "bidding", "maker01's unanswered question"),
    ("office", "tender:questions", "bidding", "maker01's unanswered question"),
    ("office", "tender:answer", "bidding", "maker01's unanswered question"),
]


@pytest.mark.parametrize(("role", "name", "scene", "what"), SHOWN)
def test_each_secret_is_found_where_it_may_be_seen(
    world: World, role: str, name: str, scene: str, what: str
) -> None:
    marker = next(m for m in _markers(world) if m.what == what)
    assert role in marker.seen_by
    text = _get(world, role, name, scene)
    assert any(p.search(text) for p in marker.patterns), f"{what} not found on {name} as {role}"


def test_a_change_shows_in_the_fingerprint(world: World) -> None:
    before = _fingerprint()
    response = world.clients["hospital"].post(
        reverse("procurement:api-token"), {"name": "fingerprint", "valid_days": "30"}
    )
    assert response.status_code == 200
    after = _fingerprint()
    assert sorted(t for t in before if before[t] != after[t]) == ["accounts_apitoken"]


# --- the admin: staff only -----------------------------------------------------------------

NON_STAFF = ("anonymous", "office", "hospital", "maker")
# The admin's sign-in form is never shown to a non-staff user: an anonymous visitor is
# sent to the site's own sign-in (with its lockout), a signed-in one refused (403);
# signing out sends a non-staff user to the admin's index (and so on to those).
ADMIN_OPEN = {"admin:login": 403, "admin:logout": 302}


def _admin_path(pattern: Pattern) -> str:
    """The admin URL with placeholder arguments: the staff check runs before any lookup."""
    if pattern.arguments == ("app_label",):
        return reverse(pattern.key, kwargs={"app_label": "bidding"})
    if "(?P<" in pattern.route:  # the catch-all for unknown admin paths
        return "/admin/no-such-page/"
    return "/" + re.sub(r"<[^>]+>", "1", pattern.route)


def test_every_admin_url_is_for_staff_only(world: World) -> None:
    admin = ADMIN_PATTERNS
    assert len(admin) > 50, "the admin's URLs are found"
    login = reverse("admin:login")
    problems = []
    before = _fingerprint()
    for pattern in admin:
        path = _admin_path(pattern)
        for role in NON_STAFF:
            client = world.clients[role]
            got = client.get(path)
            if pattern.key == "admin:logout":
                ok = got.status_code == 302 and got["Location"] == reverse("admin:index")
            elif pattern.key == "admin:login" and role == "anonymous":
                ok = got.status_code == 302 and got["Location"].startswith(
                    reverse("accounts:login") + "?next="
                )
            elif pattern.key in ADMIN_OPEN:
                ok = got.status_code == ADMIN_OPEN[pattern.key]
                ok = ok and 'name="password"' not in got.content.decode()
            else:
                ok = got.status_code == 302 and got["Location"].startswith(login + "?next=")
            if not ok:
                problems.append(f"GET {path} as {role}: {got.status_code}")
            if pattern.key in ADMIN_OPEN:
                continue
            posted = client.post(path, {"name": "changed by a non-staff user"})
            if not (posted.status_code == 302 and posted["Location"].startswith(login)):
                problems.append(f"POST {path} as {role}: {posted.status_code}")
    after = _fingerprint()
    changed = sorted(t for t in before if before[t] != after[t])
    assert not problems and not changed, "\n".join([*problems, f"changed: {changed}"])


def test_the_admin_shows_staff_every_page_without_a_sealed_price(world: World) -> None:
    """Every admin page a superuser opens (on the newest row of each model: a sealed bid of
    the round in bidding for the bidding models) answers, and shows no sealed term."""
    admin = ADMIN_PATTERNS
    markers = [m for m in _markers(world) if "sealed" in m.what]
    models = {
        f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}": model
        for model in site._registry
        for view in ("change", "history", "delete")
    }
    problems = []
    shown = 0
    with_rows: set[type] = set()
    for pattern in admin:
        model = models.get(pattern.key)
        if model is not None:
            newest = model._default_manager.order_by("-pk").first()
            if newest is None:
                continue
            with_rows.add(model)
            path = reverse(pattern.key, args=[newest.pk])
        elif pattern.arguments or pattern.key in ADMIN_OPEN:
            continue
        else:
            path = _admin_path(pattern)
        response = world.admin.get(path)
        if response.status_code not in {200, 302, 403, 405}:
            problems.append(f"GET {path} as staff: {response.status_code}")
        shown += response.status_code == 200
        problems += [
            f"GET {path} shows {leak}" for leak in _leaks(markers, "staff", _text(response))
        ]
    assert not problems, "\n".join(problems)
    # Each model's list and add pages, and its change and history pages where the world
    # holds a row (models without one, e.g. a registration request, have none to open).
    assert shown > len(site._registry) + 2 * len(with_rows), "most admin pages are shown"


# --- a URL to nothing ----------------------------------------------------------------------

MISSING: dict[str, object] = {
    "code": "NO-SUCH-ROUND",
    "pk": 987_654,
    "round_id": 987_654,
    "bid_id": 987_654,
    "version_id": 987_654,
    "opened_id": 987_654,
    "contract_id": 987_654,
    "run_id": 987_654,
    "objection_id": 987_654,
    "failure_id": 987_654,
    "batch_id": 987_654,
    "token": "00000000-0000-4000-8000-000000000000",
    "language": "xx",
    "number": 987_654,
}
# Each URL name once (its first entry), if it takes arguments and answers GET.
WITH_ARGUMENTS = [
    url
    for url in {u.name: u for u in reversed(URLS)}.values()
    if url.name in PATTERNS and PATTERNS[url.name].arguments and url.get != 405
]


@pytest.mark.parametrize("url", WITH_ARGUMENTS, ids=[u.name for u in WITH_ARGUMENTS])
def test_a_url_to_nothing_is_404_for_whoever_may_use_it(world: World, url: Url) -> None:
    """A mistyped or stale link (a round, bid, contract… that does not exist, an unknown
    language) is a 404 for the users allowed to use the URL, never a 500."""
    pattern = PATTERNS[url.name]
    scene = world.scenes[url.scenes[0]]
    problems = []
    for argument in pattern.arguments:
        assert argument in MISSING, f"say in MISSING what a missing <{argument}> is"
        kwargs = {a: (url.args.get(a) or ARGUMENTS[a])(scene) for a in pattern.arguments}
        kwargs[argument] = MISSING[argument]
        path = reverse(url.name, kwargs=kwargs)
        for role in ("anonymous", "office", "hospital", "maker"):
            if "anonymous" not in url.who and KIND[role] not in url.who:
                continue
            status = world.clients[role].get(path).status_code
            if status != 404:
                problems.append(f"GET {path} as {role}: {status}")
    assert not problems, "\n".join(problems)


# --- another organization's object named in the request ------------------------------------


@dataclass(frozen=True)
class Intrusion:
    """A user allowed to use a URL names another organization's object in what it sends."""

    what: str
    role: str
    name: str
    scene: str
    body: Callable[[World], dict[str, object]]
    status: int
    message: Callable[[World], str]
    follow: bool = False  # the refusal redirects to a page that says it


def _purchase(world: World) -> PurchaseLine:
    purchase = world.scenes["awarded"].purchase
    assert purchase is not None
    return purchase


def _failure(world: World) -> SupplyFailure:
    failure = world.scenes["awarded"].failure
    assert failure is not None
    return failure


def _bid_terms(product: int) -> dict[str, object]:
    return {"product": product, "unit_price": "1.0000", "annual_capacity": 5}


def _reports_a_supply_failure(who: str, where: str, role: str) -> Intrusion:
    """Only the office, a hospital of the province or its supplier may report it."""
    return Intrusion(
        f"{who} reports a supply failure {where}",
        role,
        "contracts:supply-failure-new",
        "awarded",
        lambda w: {
            "round_item": _failure(w).round_item_id,
            "region": _failure(w).region_id,
            "description": "Nothing delivered.",
        },
        400,
        lambda w: gettext(
            "Only the office, a hospital of the province or the supplier can report this."
        ),
    )


INTRUSIONS = [
    Intrusion(
        "hospital16 records a purchase on hospital01's contract (API)",
        "hospital2",
        "api-purchases",
        "awarded",
        lambda w: {"lines": [{**asdict(_purchase(w)), "quantity": 5}]},
        400,
        lambda w: (
            gettext("contract %(number)s is not one of your organization's contracts.")
            % {"number": _purchase(w).contract_number}
        ),
    ),
    Intrusion(
        "hospital16 records a purchase on hospital01's contract (web form)",
        "hospital2",
        "contracts:purchases",
        "awarded",
        lambda w: {
            "line": f"{_purchase(w).contract_number}|{_purchase(w).item_code}",
            "month": _purchase(w).month,
            "quantity": 5,
        },
        400,
        lambda w: (
            gettext("Select a valid choice. %(value)s is not one of the available choices.")
            % {"value": f"{_purchase(w).contract_number}|{_purchase(w).item_code}"}
        ),
    ),
    Intrusion(
        "hospital16 commits hospital01's uploaded purchase file",
        "hospital2",
        "contracts:purchases-upload",
        "awarded",
        lambda w: {"token": str(w.scenes["awarded"].purchase_upload.token)},  # type: ignore[union-attr]
        200,
        lambda w: gettext("That upload is no longer available; upload the file again."),
        follow=True,
    ),
    _reports_a_supply_failure("hospital16", "in hospital01's province", "hospital2"),
    _reports_a_supply_failure("maker02", "of maker01's", "maker2"),
    Intrusion(
        "maker02 bids with maker01's product",
        "maker2",
        "api-bids",
        "awarded",  # the URL names no round; the bid is for the round in bidding
        lambda w: {
            "round": w.scenes["bidding"].round.code,
            "item": "D-ATV-OS",
            "specification": "20MG",
            **_bid_terms(w.products["maker"]),
        },
        400,
        lambda w: "No such product of your organization.",
    ),
    Intrusion(
        "maker01 revises its bid to maker02's product",
        "maker",
        "api-bid-revise",
        "bidding",
        lambda w: _bid_terms(w.products["maker2"]),
        400,
        lambda w: "No such product of your organization.",
    ),
]


@pytest.mark.parametrize("intrusion", INTRUSIONS, ids=[i.what for i in INTRUSIONS])
def test_nobody_acts_on_another_organizations_object_named_in_the_request(
    world: World, intrusion: Intrusion
) -> None:
    url = _entry(intrusion.name, intrusion.scene)
    path = _path(url, PATTERNS[url.name], world.scenes[intrusion.scene])
    sent = Url(url.name, url.who, body=intrusion.body(world), headers=_IDEMPOTENT)
    before = _fingerprint()
    if intrusion.follow:
        response = world.clients[intrusion.role].post(path, sent.body, follow=True)
        assert [status for _url, status in response.redirect_chain] == [302]
    else:
        response = _send(world.clients[intrusion.role], "POST", path, sent)
    after = _fingerprint()
    assert response.status_code == intrusion.status, _text(response)[:2000]
    assert intrusion.message(world) in _text(response)
    assert [t for t in before if before[t] != after[t]] == []


# --- odd query parameters ------------------------------------------------------------------

# A superscript digit passes str.isdigit() but not int(); 20 nines overflow a database id.
ODD_QUERY = urlencode(
    {"page": "²", "per_page": "²", "round": "9" * 20, "status": "²", "q": "²", "v": "²"}
)
ANSWERING_GET = [
    url for url in {u.name: u for u in reversed(URLS)}.values() if url.get in {200, 302}
]


def _allowed_role(url: Url) -> str:
    return next(
        role
        for role in ("anonymous", "office", "hospital", "maker")
        if "anonymous" in url.who or KIND[role] in url.who
    )


@pytest.mark.parametrize("url", ANSWERING_GET, ids=[u.name for u in ANSWERING_GET])
def test_odd_query_parameters_are_never_a_500(world: World, url: Url) -> None:
    """Odd query parameters are answered as none would be (DRF answers a page number it
    cannot read with 404); a NUL character, which PostgreSQL text cannot hold, is a 400."""
    role = _allowed_role(url)
    path = _path(url, PATTERNS[url.name], world.scenes[url.scenes[0]])
    client = world.clients[role]
    odd = client.get(f"{path}?{ODD_QUERY}")
    if url.api and odd.status_code == 404:  # a list paged by DRF
        assert odd.json() == {"detail": gettext("Invalid page.")}
    else:
        assert odd.status_code == url.get, (role, odd.status_code)
    assert client.get(f"{path}?q=a%00b").status_code == 400


# --- cross-site requests -------------------------------------------------------------------

WITH_UNSAFE = [(url, scene) for url, scene in CASES if url.unsafe]


@pytest.mark.parametrize(
    ("url", "scene_name"), WITH_UNSAFE, ids=[f"{u.name}[{s}]" for u, s in WITH_UNSAFE]
)
def test_a_cross_site_request_of_an_allowed_user_is_refused(
    world: World, url: Url, scene_name: str
) -> None:
    """Every POST or DELETE an allowed user may send needs the CSRF token when it comes
    with the session cookie (pages, and the API signed in by session): a forged form on
    another site changes nothing."""
    path = _path(url, PATTERNS[url.name], world.scenes[scene_name])
    clients = {}
    for role in ("office", "hospital", "maker"):
        if not url.refused(role):
            clients[role] = Client(enforce_csrf_checks=True)
            clients[role].force_login(world.users[role])  # type: ignore[arg-type]
    assert clients, f"{url.name}: nobody may send {url.unsafe}"
    before = _fingerprint()  # after signing in, which stamps the user's last login
    problems = []
    for role, client in clients.items():
        for method in url.unsafe:
            response = _send(client, method, path, url)
            if response.status_code != 403 or "CSRF" not in _text(response):
                problems.append(f"{method} {path} as {role}: {response.status_code}")
    after = _fingerprint()
    changed = sorted(t for t in before if before[t] != after[t])
    assert not problems and not changed, "\n".join([*problems, f"changed: {changed}"])
