"""The SQL statements of one bid, kept few (issue 16: at most 6 for a new bid).

A new bid through the API on PostgreSQL costs six statements in all (besides ``BEGIN`` and
``COMMIT``), each one named in docs/sealed-bidding.md, "What one bid costs":

1. the API token, its user and organization (``accounts.auth``);
2. the round item, specification, ceiling and the bidder's own product (``bid_target``);
3. the round row ``FOR SHARE`` (with its ``signatures_required``), its opening public key,
   its qualification and authorisation-letter rule and a new bid id (``round_for_bid``);
4. the bid and its first sealed version, inserted together (``bid_and_version_insert``;
   nothing is inserted when the bid already exists);
5. the round's bid log head ``FOR UPDATE`` (``log_head_lock``, the last lock);
6. the log entry and the new head, written together (``log_entry_write``).

A signed bid costs one statement more: the signing key by its fingerprint
(``accounts.signing.signature_check``), read before anything is written.

Each function here has a portable form (the ORM, several statements) used on other
databases (SQLite in development and most tests), with the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Field, Model

from bidding.models import Bid, BidLogEntry, BidLogHead, BidVersion, RoundCustody
from catalog.models import Product, Specification
from procurement.models import Ceiling, Round, RoundItem


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(field: Field) -> str:
    return connection.ops.quote_name(field.column)


def _fields(model: type[Model]) -> list[Field]:
    return list(model._meta.concrete_fields)


def _cast(field: Field) -> str:
    """``CAST(%s AS <the column's type>)``: a typed placeholder."""
    return f"CAST(%s AS {field.cast_db_type(connection)})"  # type: ignore[attr-defined]


def _select(model: type[Model], alias: str) -> str:
    return ", ".join(f"{alias}.{_column(f)}" for f in _fields(model))


def _instance(model: type[Model], row: Sequence[object]) -> Model:
    """A model instance from its columns as ``_select`` listed them (converters applied)."""
    fields = _fields(model)
    values = []
    for field, value in zip(fields, row, strict=True):
        for converter in field.get_db_converters(connection):  # type: ignore[attr-defined]
            value = converter(value, field, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def _insert_values(obj: Model) -> tuple[str, str, list[Any]]:
    """Columns, typed placeholders and parameters to insert ``obj`` (primary key included
    when set), after each field's ``pre_save`` (``auto_now`` and the like)."""
    fields = [f for f in _fields(type(obj)) if not (f.primary_key and obj.pk is None)]
    columns = ", ".join(_column(f) for f in fields)
    # Typed: the values of an INSERT ... SELECT are not typed by their target columns.
    placeholders = ", ".join(_cast(f) for f in fields)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    return columns, placeholders, params


# --- 2. what is bid on ----------------------------------------------------------------------


@dataclass(frozen=True)
class BidTarget:
    round_item: RoundItem
    specification: Specification
    ceiling: Ceiling
    product: Product


def bid_target(
    *,
    round_code: str,
    item_code: str,
    specification_code: str,
    product_id: int,
    manufacturer_id: int,
) -> BidTarget | None:
    """The round item, specification and ceiling named by codes, and the bidder's own
    product registered under that specification, in one statement; None otherwise (the
    caller then looks each up on its own, for a precise refusal). The round item's round
    is not read here: the bid transaction reads it under its lock."""
    from catalog.models import ProcurementItem

    models: list[type[Model]] = [Product, ProcurementItem, Specification, Ceiling, RoundItem]
    sql = (
        f"SELECT {_select(Product, 'p')}, {_select(ProcurementItem, 'i')}, "  # noqa: S608
        f"{_select(Specification, 's')}, {_select(Ceiling, 'c')}, {_select(RoundItem, 'ri')} "
        f"FROM {_table(Product)} p "
        f"JOIN {_table(ProcurementItem)} i ON i.id = p.item_id "
        f"JOIN {_table(Specification)} s ON s.id = p.specification_id AND s.item_id = i.id "
        f"JOIN {_table(Ceiling)} c ON c.specification_id = s.id "
        f"JOIN {_table(RoundItem)} ri ON ri.id = c.round_item_id AND ri.item_id = i.id "
        f"JOIN {_table(Round)} r ON r.id = ri.round_id "
        "WHERE p.id = %s AND p.manufacturer_id = %s AND i.code = %s AND s.code = %s "
        "AND r.code = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [product_id, manufacturer_id, item_code, specification_code, round_code]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    instances = []
    at = 0
    for model in models:
        n = len(_fields(model))
        instances.append(_instance(model, row[at : at + n]))
        at += n
    product, item, specification, ceiling, round_item = instances
    assert isinstance(product, Product) and isinstance(specification, Specification)
    assert isinstance(ceiling, Ceiling) and isinstance(round_item, RoundItem)
    assert isinstance(item, ProcurementItem)
    specification.item = item
    product.item = item
    product.specification = specification
    round_item.item = item
    ceiling.round_item = round_item
    ceiling.specification = specification
    return BidTarget(
        round_item=round_item, specification=specification, ceiling=ceiling, product=product
    )


# --- 3. the round, locked ------------------------------------------------------------------


@dataclass
class RoundForBid:
    """The round row as locked for a bid, and what the bid needs from beside it."""

    round: Round
    public_key: bytes | None  # the opening public key, when generated
    qualification_required: bool | None  # the round's own rule; None: the default applies
    authorisation_required: bool = False  # the rule's authorisation letter (none: False)
    new_bid_id: int | None = None  # reserved for a new bid (PostgreSQL)

    @property
    def requires_qualification(self) -> bool:
        """The round's rule, or the configured default for a round without one (as
        ``qualification.selectors.qualification_required`` decides)."""
        if self.qualification_required is None:
            return bool(settings.JICAI_QUALIFICATION_REQUIRED)
        return self.qualification_required


def round_for_bid(round_id: int, *, new_bid: bool = False) -> RoundForBid:
    """Lock the round row in share mode (``bidding.services.deadline``) and read, in the
    same statement, its opening public key, its qualification rule (whether qualification
    and an authorisation letter are required) and, for a new bid, the bid's id (so the bid
    and its version can be inserted together: the seal binds it). Whether the round
    requires signatures is a column of the round row itself (``signatures_required``)."""
    from qualification.models import RoundQualificationRule

    if not _postgresql():
        from bidding.services.deadline import _lock_round

        round_ = _lock_round(round_id)
        custody_row = RoundCustody.objects.filter(round_id=round_id).first()
        rule = RoundQualificationRule.objects.filter(round_id=round_id).first()
        return RoundForBid(
            round=round_,
            public_key=(
                bytes(custody_row.public_key)
                if custody_row is not None and custody_row.has_key
                else None
            ),
            qualification_required=rule.required if rule is not None else None,
            authorisation_required=rule.authorisation_required if rule is not None else False,
        )
    custody = RoundCustody._meta
    rule_meta = RoundQualificationRule._meta
    bid_id = (
        f"nextval(pg_get_serial_sequence('{Bid._meta.db_table}', '{Bid._meta.pk.column}'))"
        if new_bid
        else "NULL"
    )
    sql = (
        f"SELECT {_select(Round, 'r')}, "  # noqa: S608 - names from the models, values bound
        f"CASE WHEN c.{connection.ops.quote_name(custody.get_field('key_generated_at').column)}"
        f" IS NOT NULL THEN c.{connection.ops.quote_name(custody.get_field('public_key').column)}"
        f" END, q.{connection.ops.quote_name(rule_meta.get_field('required').column)}, "
        f"q.{connection.ops.quote_name(rule_meta.get_field('authorisation_required').column)}, "
        f"{bid_id} "
        f"FROM {_table(Round)} r "
        f"LEFT JOIN {_table(RoundCustody)} c ON c.round_id = r.id "
        f"LEFT JOIN {_table(RoundQualificationRule)} q ON q.round_id = r.id "
        "WHERE r.id = %s FOR SHARE OF r"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [round_id])
        row = cursor.fetchone()
    if row is None:
        raise Round.DoesNotExist
    n = len(_fields(Round))
    public_key, required, authorisation, new_id = row[n:]
    return RoundForBid(
        round=_instance(Round, row[:n]),  # type: ignore[arg-type]
        public_key=bytes(public_key) if public_key is not None else None,
        qualification_required=required,
        authorisation_required=bool(authorisation),
        new_bid_id=new_id,
    )


# --- 4. the bid and its first version --------------------------------------------------------


def bid_and_version_insert(*, bid: Bid, version: BidVersion) -> bool:
    """Insert a new ``bid`` (its id reserved by ``round_for_bid``) and its first
    ``version`` in one statement; False, with nothing written, when the bid exists already
    (the same specification or product bid before, or at this very moment).

    A reused Idempotency-Key raises IntegrityError (the caller retries and replays)."""
    assert bid.pk is not None and version.bid_id == bid.pk
    bid_columns, bid_values, bid_params = _insert_values(bid)
    version_columns, version_values, version_params = _insert_values(version)
    sql = (
        f"WITH b AS (INSERT INTO {_table(Bid)} ({bid_columns}) "  # noqa: S608
        f"VALUES ({bid_values}) ON CONFLICT DO NOTHING RETURNING id) "
        f"INSERT INTO {_table(BidVersion)} ({version_columns}) "
        f"SELECT {version_values} FROM b RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*bid_params, *version_params])
        row = cursor.fetchone()
    if row is None:
        bid._state.adding = True
        return False
    bid._state.adding = False
    version.pk = row[0]
    version._state.adding = False
    return True


# --- 5 and 6. the bid log --------------------------------------------------------------------


def log_head_lock(round_: Round) -> BidLogHead:
    """The round's bid log head, locked ``FOR UPDATE`` (the bid transaction's last lock).

    Bidding opening creates it (``log_head_ensure``); a round opened before that gets it
    here on its first bid (concurrently safe: a second insert is ignored)."""
    head = BidLogHead.objects.select_for_update().filter(round=round_).first()
    if head is None:
        log_head_ensure(round_)
        head = BidLogHead.objects.select_for_update().get(round=round_)
    return head


def log_head_ensure(round_: Round) -> None:
    from bidding.bidlog import EMPTY_ROOT

    BidLogHead.objects.bulk_create(
        [BidLogHead(round=round_, root=EMPTY_ROOT.hex())], ignore_conflicts=True
    )


def log_entry_write(*, head: BidLogHead, entry: BidLogEntry) -> None:
    """Insert ``entry`` and save the ``head`` it leads to, in one statement (PostgreSQL)."""
    if not _postgresql():
        entry.save(force_insert=True)
        head.save(update_fields=["size", "root", "compact", "updated_at"])
        return
    columns, values, params = _insert_values(entry)
    changed = [
        f for f in _fields(BidLogHead) if f.name in ("size", "root", "compact", "updated_at")
    ]
    assignments = ", ".join(f"{_column(f)} = {_cast(f)}" for f in changed)
    head_params = [f.get_db_prep_save(f.pre_save(head, False), connection) for f in changed]
    sql = (
        f"WITH e AS (INSERT INTO {_table(BidLogEntry)} ({columns}) "  # noqa: S608
        f"VALUES ({values}) RETURNING id) "
        f"UPDATE {_table(BidLogHead)} SET {assignments} "
        "WHERE id = %s RETURNING (SELECT id FROM e)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *head_params, head.pk])
        row = cursor.fetchone()
    assert row is not None
    entry.pk = row[0]
    entry._state.adding = False


__all__ = [
    "BidTarget",
    "RoundForBid",
    "bid_and_version_insert",
    "bid_target",
    "log_entry_write",
    "log_head_ensure",
    "log_head_lock",
    "round_for_bid",
]
