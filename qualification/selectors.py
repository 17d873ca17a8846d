"""Reads of the qualification app: who may bid with what, the office's queues, a user's
own documents (``document_get_for_user`` answers 404 for another organization's)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from catalog.models import Product, ProductKind
from procurement.models import Round
from qualification.models import (
    DocumentKind,
    QualificationDocument,
    RegistrationRequest,
    RoundQualificationRule,
)

K = DocumentKind
# The reason codes published at the opening (bidding.models.OpenedBid.Reason has them).
SUPPLIER_UNQUALIFIED = "supplier_unqualified"
PRODUCT_UNQUALIFIED = "product_unqualified"
AUTHORISATION_MISSING = "authorisation_missing"
EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class Disqualification:
    """Why a bidder may not bid (or its bid is invalid): a code and a message."""

    code: str
    message: str


def local_day(at: datetime.datetime) -> datetime.date:
    """The calendar day in China of ``at`` (validity dates are days there)."""
    return timezone.localtime(at).date()


def qualification_required(*, round_: Round) -> bool:
    return _requirements(round_)[0]


def _requirements(round_: Round) -> tuple[bool, bool]:
    """(qualification required, authorisation letter required) of ``round_``, one query."""
    rule = RoundQualificationRule.objects.filter(round=round_).first()
    if rule is None:
        return bool(settings.JICAI_QUALIFICATION_REQUIRED), False
    return rule.required, rule.authorisation_required


def authorisation_refusal(
    documents: list[QualificationDocument], *, user: User, day: datetime.date
) -> Disqualification | None:
    """Why ``user`` may not seal for its manufacturer: no approved authorisation letter
    naming it, valid on ``day``; None when it has one."""
    if any(
        d.kind == K.AUTHORISATION_LETTER and d.user_id == user.pk and d.valid_on(day)
        for d in documents
    ):
        return None
    return Disqualification(
        AUTHORISATION_MISSING,
        _(
            "This round requires an approved authorisation letter for the user who seals "
            "bids: %(user)s has none valid on %(day)s. Upload it on Qualification documents."
        )
        % {"user": user.get_username(), "day": day.isoformat()},
    )


def _approved(manufacturer_ids: Iterable[int]) -> dict[int, list[QualificationDocument]]:
    by_org: dict[int, list[QualificationDocument]] = defaultdict(list)
    for document in QualificationDocument.objects.filter(
        organization_id__in=set(manufacturer_ids), status=QualificationDocument.Status.APPROVED
    ).only("organization_id", "kind", "product_id", "user_id", "valid_from", "valid_until"):
        by_org[document.organization_id].append(document)
    return by_org


def _has(
    documents: list[QualificationDocument],
    kinds: set[str],
    day: datetime.date,
    product_id: int | None = None,
) -> bool:
    return any(
        d.kind in kinds and d.valid_on(day) and (product_id is None or d.product_id == product_id)
        for d in documents
    )


def _judge(
    documents: list[QualificationDocument],
    *,
    product_id: int | None,
    product_kind: str | None,
    day: datetime.date,
) -> Disqualification | None:
    when = day.isoformat()
    if not _has(documents, {K.BUSINESS_LICENCE}, day):
        return Disqualification(
            SUPPLIER_UNQUALIFIED,
            _("Your organization has no approved business licence valid on %(day)s.")
            % {"day": when},
        )
    if not _has(documents, {K.PRODUCTION_LICENCE, K.GMP}, day):
        return Disqualification(
            SUPPLIER_UNQUALIFIED,
            _(
                "Your organization has no approved production licence or GMP certificate "
                "valid on %(day)s."
            )
            % {"day": when},
        )
    if product_id is None:
        return None
    registration = (
        K.DRUG_REGISTRATION if product_kind == ProductKind.DRUG else K.DEVICE_REGISTRATION
    )
    if not _has(documents, {registration}, day, product_id):
        return Disqualification(
            PRODUCT_UNQUALIFIED,
            _("This product has no approved registration certificate valid on %(day)s.")
            % {"day": when},
        )
    if product_kind == ProductKind.DRUG and not _has(
        documents, {K.CONSISTENCY_EVALUATION, K.ORIGINATOR}, day, product_id
    ):
        return Disqualification(
            PRODUCT_UNQUALIFIED,
            _(
                "This product has no approved consistency-evaluation approval or originator "
                "status valid on %(day)s."
            )
            % {"day": when},
        )
    return None


def bidder_qualified(
    *,
    round_: Round,
    manufacturer: Organization,
    product: Product,
    at: datetime.datetime,
    by: User | None = None,
    required: bool | None = None,
    authorisation: bool | None = None,
) -> Disqualification | None:
    """Why ``manufacturer`` may not bid ``product`` in ``round_`` at ``at``, or None.

    None when the round does not require qualification. Otherwise the manufacturer needs
    approved documents valid on that day in China: a business licence, a production
    licence or GMP certificate, and for the product its registration certificate (drug
    or medical device) and, for a drug, the consistency-evaluation approval or the
    originator status. With ``by``, a round requiring authorisation letters also needs
    one naming that user (``authorisation_refusal``).

    ``required`` and ``authorisation``: the round's rule, when the caller has read it
    already (the bid transaction reads it with the round row: no query here then);
    otherwise one query reads it."""
    if required is None or authorisation is None:
        rule_required, rule_authorisation = _requirements(round_)
        required = rule_required if required is None else required
        authorisation = rule_authorisation if authorisation is None else authorisation
    if not required and not (authorisation and by is not None):
        return None
    documents = _approved([manufacturer.pk]).get(manufacturer.pk, [])
    day = local_day(at)
    if required:
        refusal = _judge(documents, product_id=product.pk, product_kind=product.kind, day=day)
        if refusal is not None:
            return refusal
    if authorisation and by is not None:
        return authorisation_refusal(documents, user=by, day=day)
    return None


def organization_disqualified(
    *, manufacturer: Organization, at: datetime.datetime
) -> Disqualification | None:
    """The organization-level part of the check (business licence, production licence or
    GMP), for pages: why ``manufacturer`` could not bid at all on ``at``, or None."""
    documents = _approved([manufacturer.pk]).get(manufacturer.pk, [])
    return _judge(documents, product_id=None, product_kind=None, day=local_day(at))


def bids_disqualified(
    *, round_: Round, bids: Iterable[tuple[int, int, int | None]], at: datetime.datetime
) -> dict[int, str]:
    """The opening's check, in two queries: for ``(bid id, manufacturer id, product id)``
    triples, the reason code of each bid whose bidder or product was not qualified on the
    day of ``at`` (the bid deadline). Empty when the round does not require it."""
    rows = list(bids)
    if not rows or not qualification_required(round_=round_):
        return {}
    documents = _approved(m for _bid, m, _p in rows)
    kinds = dict(
        Product.objects.filter(pk__in={p for _b, _m, p in rows if p is not None}).values_list(
            "pk", "kind"
        )
    )
    day = local_day(at)
    found = {}
    for bid_id, manufacturer_id, product_id in rows:
        outcome = _judge(
            documents.get(manufacturer_id, []),
            product_id=product_id,
            product_kind=kinds.get(product_id) if product_id is not None else None,
            day=day,
        )
        if outcome is not None:
            found[bid_id] = outcome.code
    return found


# --- documents ----------------------------------------------------------------------------


def documents_of(*, organization: Organization) -> QuerySet[QualificationDocument]:
    return (
        QualificationDocument.objects.filter(organization=organization)
        .select_related("product", "user")
        .order_by("kind", "product__name", "-valid_until", "pk")
    )


def document_get_for_user(*, user: User, pk: int) -> QualificationDocument:
    """A document its own organization or an office may see; DoesNotExist otherwise."""
    organization = user.organization
    qs = QualificationDocument.objects.select_related(
        "organization", "product", "user", "uploaded_by"
    )
    if organization is None:
        raise QualificationDocument.DoesNotExist
    if organization.kind != Organization.Kind.OFFICE:
        qs = qs.filter(organization=organization)
    return qs.get(pk=pk)


def documents_to_review() -> QuerySet[QualificationDocument]:
    return (
        QualificationDocument.objects.filter(status=QualificationDocument.Status.SUBMITTED)
        .select_related("organization", "product")
        .order_by("uploaded_at", "pk")
    )


def documents_expiring(
    *, now: datetime.datetime | None = None, days: int = EXPIRY_WARNING_DAYS
) -> QuerySet[QualificationDocument]:
    """Approved documents that expire within ``days`` (today included), soonest first."""
    today = local_day(now or timezone.now())
    return (
        QualificationDocument.objects.filter(
            status=QualificationDocument.Status.APPROVED,
            valid_until__gte=today,
            valid_until__lte=today + datetime.timedelta(days=days),
        )
        .select_related("organization", "product")
        .order_by("valid_until", "organization__name", "pk")
    )


def registrations_pending() -> QuerySet[RegistrationRequest]:
    return RegistrationRequest.objects.filter(
        status=RegistrationRequest.Status.PENDING
    ).select_related("region")


def registration_get(*, pk: int) -> RegistrationRequest | None:
    return RegistrationRequest.objects.filter(pk=pk).first()


def office_round_get(*, office: Organization, code: str) -> Round | None:
    """A round of ``office`` (None for another office's round: a 404)."""
    return Round.objects.filter(code=code, office=office).first()


@dataclass(frozen=True)
class RoundRequirements:
    """A round's requirements as the office's page shows them."""

    round: Round
    authorisation: bool
    signatures: bool

    @property
    def toggles(self) -> list[tuple[str, bool]]:
        return [("authorisation", self.authorisation), ("signatures", self.signatures)]


def rounds_with_requirements(*, office: Organization) -> list[RoundRequirements]:
    """The office's latest 50 rounds with their authorisation-letter and signature
    requirements (the round's own signature setting, or JICAI_SIGNATURES_REQUIRED)."""
    rounds = list(Round.objects.filter(office=office).order_by("-created_at", "code")[:50])
    letters = dict(
        RoundQualificationRule.objects.filter(round__in=rounds).values_list(
            "round_id", "authorisation_required"
        )
    )
    default = bool(settings.JICAI_SIGNATURES_REQUIRED)
    return [
        RoundRequirements(
            round=r,
            authorisation=letters.get(r.pk, False),
            signatures=default if r.signatures_required is None else r.signatures_required,
        )
        for r in rounds
    ]


def rounds_with_rule(*, office: Organization) -> list[tuple[Round, bool]]:
    rounds = list(Round.objects.filter(office=office).order_by("-created_at", "code")[:50])
    rules = dict(
        RoundQualificationRule.objects.filter(round__in=rounds).values_list("round_id", "required")
    )
    default = bool(settings.JICAI_QUALIFICATION_REQUIRED)
    return [(r, rules.get(r.pk, default)) for r in rounds]
