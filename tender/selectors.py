"""Reads of procurement documents, amendments and clarifications, with the access checks,
and the selectors the bidding app calls at the opening (re-confirmation after amendments).

Who sees what:
* everyone, signed in or not: a published round's document versions, PDFs, amendment
  notices and its answered clarifications, never who asked;
* a manufacturer: besides, its own questions (pending or answered);
* the round's office: every question, with who asked.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.utils.module_loading import import_string

from accounts.models import Organization, User
from catalog.models import Product, Specification
from procurement.models import Round, RoundItem
from procurement.periods import period_length
from tender.models import (
    Amendment,
    AmendmentChange,
    Clarification,
    DocumentPdf,
    ProcurementDocumentVersion,
)

# --- re-confirmation: what the opening asks ------------------------------------------------


def reconfirmation_required_since(
    *, round_item: RoundItem, specification: Specification | None = None
) -> datetime.datetime | None:
    """When the latest material amendment touching this item (and specification) was
    published, or ``None`` if none has.

    A bid on ``round_item`` for ``specification`` whose bidder last submitted, revised or
    re-confirmed it before this moment must not be counted until its bidder re-confirms
    it (issue 17). ``specification=None`` asks about the item as a whole: any of its
    specifications. Round-wide material changes (the contract start) touch every item.
    """
    touching = Q(round_item__isnull=True) | Q(round_item=round_item, specification__isnull=True)
    if specification is None:
        touching |= Q(round_item=round_item)
    else:
        touching |= Q(round_item=round_item, specification=specification)
    latest = AmendmentChange.objects.filter(
        touching, amendment__round_id=round_item.round_id, material=True
    ).aggregate(at=Max("amendment__published_at"))["at"]
    return latest


@dataclass
class ReconfirmationIndex:
    """Every material amendment's reach in one round, read once (for the opening, which
    asks for each of its bids): ``since(round_item_id, specification_id)``."""

    round_wide: datetime.datetime | None = None
    by_item: dict[int, datetime.datetime] = field(default_factory=dict)
    by_line: dict[tuple[int, int], datetime.datetime] = field(default_factory=dict)

    def since(
        self, round_item_id: int, specification_id: int | None = None
    ) -> datetime.datetime | None:
        candidates = [self.round_wide, self.by_item.get(round_item_id)]
        if specification_id is None:
            candidates += [at for (ri, _s), at in self.by_line.items() if ri == round_item_id]
        else:
            candidates.append(self.by_line.get((round_item_id, specification_id)))
        present = [c for c in candidates if c is not None]
        return max(present) if present else None


def reconfirmation_index(*, round_: Round) -> ReconfirmationIndex:
    index = ReconfirmationIndex()
    rows = AmendmentChange.objects.filter(amendment__round=round_, material=True).values_list(
        "round_item_id", "specification_id", "amendment__published_at"
    )
    for round_item_id, specification_id, at in rows:
        if round_item_id is None:
            index.round_wide = max(filter(None, [index.round_wide, at]))
        elif specification_id is None:
            index.by_item[round_item_id] = max(filter(None, [index.by_item.get(round_item_id), at]))
        else:
            key = (round_item_id, specification_id)
            index.by_line[key] = max(filter(None, [index.by_line.get(key), at]))
    return index


# --- who holds the documents ---------------------------------------------------------------


def potential_bidders_on_line(*, round_item_id: int, specification_id: int | None) -> set[int]:
    """Manufacturers with a registered product of this item (and specification): the
    organizations whose bids an amendment of it can touch. The default of the setting
    ``JICAI_TENDER_BIDDERS`` until the bidding app names the exact bidders (a superset of
    them: no one who bid is left out, and no one learns who did)."""
    products = Product.objects.filter(item__round_items=round_item_id)
    if specification_id is not None:
        products = products.filter(specification_id=specification_id)
    return set(products.values_list("manufacturer_id", flat=True))


def bidders_on_line(*, round_item_id: int, specification_id: int | None) -> set[int]:
    """The manufacturers whose bids on this line an amendment touches, from the provider
    named by the setting ``JICAI_TENDER_BIDDERS`` (a function taking ``round_item_id`` and
    ``specification_id``, keywords, and returning organization ids)."""
    provider = import_string(settings.JICAI_TENDER_BIDDERS)
    return set(provider(round_item_id=round_item_id, specification_id=specification_id))


def document_holders(*, round_: Round) -> set[int]:
    """Every manufacturer the round's documents concern: those with a product of one of its
    items and those the bidders provider names, for any of its items."""
    holders: set[int] = set(
        Product.objects.filter(item__round_items__round=round_).values_list(
            "manufacturer_id", flat=True
        )
    )
    for round_item_id in round_.items.values_list("pk", flat=True):
        holders |= bidders_on_line(round_item_id=round_item_id, specification_id=None)
    return holders


# --- documents -----------------------------------------------------------------------------


def round_get_published(*, code: str) -> Round:
    """A round whose procurement document is published, for anyone; ``Round.DoesNotExist``
    otherwise (a 404)."""
    return (
        Round.objects.select_related("office", "rule_set")
        .filter(document_versions__number=1)
        .distinct()
        .get(code=code)
    )


def document_versions(*, round_: Round) -> QuerySet[ProcurementDocumentVersion]:
    return (
        ProcurementDocumentVersion.objects.filter(round=round_)
        .select_related("amendment")
        .prefetch_related("pdfs")
        .order_by("-number")
    )


def document_current(*, round_: Round) -> ProcurementDocumentVersion | None:
    return document_versions(round_=round_).first()


def document_version_get(*, round_: Round, number: int) -> ProcurementDocumentVersion:
    return ProcurementDocumentVersion.objects.get(round=round_, number=number)


def document_pdf_get(*, version: ProcurementDocumentVersion, language: str) -> DocumentPdf | None:
    return DocumentPdf.objects.filter(version=version, language=language).first()


def round_published_at(*, round_: Round) -> datetime.datetime | None:
    first = ProcurementDocumentVersion.objects.filter(round=round_, number=1).first()
    return first.published_at if first is not None else None


def amendments_public(*, round_: Round) -> QuerySet[Amendment]:
    return (
        Amendment.objects.filter(round=round_)
        .prefetch_related("changes__round_item__item", "changes__specification")
        .order_by("-number")
    )


def amendment_get_public(*, round_: Round, number: int) -> Amendment:
    return amendments_public(round_=round_).get(number=number)


# --- clarifications ------------------------------------------------------------------------

# What anyone may read of an answered clarification: never the asker.
PUBLIC_FIELDS = (
    "number",
    "round_item__item__code",
    "published_question",
    "answer",
    "answered_at",
)


def clarifications_published(*, round_: Round) -> list[dict[str, Any]]:
    """The round's answered clarifications as plain rows of ``PUBLIC_FIELDS`` only: no
    object that knows its asker leaves this function."""
    return list(
        Clarification.objects.filter(round=round_, status=Clarification.Status.ANSWERED)
        .order_by("-number")
        .values(*PUBLIC_FIELDS)
    )


def _is_round_office(user: User, round_: Round) -> bool:
    organization = user.organization
    return organization is not None and organization.pk == round_.office_id


def clarification_list_for_user(*, user: User, round_: Round) -> QuerySet[Clarification]:
    """The round's office: every question, with who asked; a manufacturer: its own."""
    questions = Clarification.objects.filter(round=round_).select_related(
        "round_item__item", "asked_by_organization", "asked_by"
    )
    organization = user.organization
    if organization is None:
        return questions.none()
    if _is_round_office(user, round_):
        return questions.order_by("status", "-asked_at", "-pk")
    if organization.kind == Organization.Kind.MANUFACTURER:
        return questions.filter(asked_by_organization=organization).order_by("-asked_at", "-pk")
    return questions.none()


def clarification_get_for_office(*, user: User, round_: Round, pk: int) -> Clarification:
    """One question of a round of the user's office; ``Clarification.DoesNotExist`` else."""
    if not _is_round_office(user, round_):
        raise Clarification.DoesNotExist
    return Clarification.objects.select_related(
        "round_item__item", "asked_by_organization", "asked_by"
    ).get(round=round_, pk=pk)


def question_deadline(*, round_: Round) -> datetime.datetime:
    """Questions are accepted until the rule set's ``question_cutoff_days`` before the
    bid deadline (``procurement.periods``)."""
    return round_.bid_deadline - period_length(round_.rule_set, "question_cutoff_days")
