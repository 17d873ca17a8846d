"""The SQL statements of one bid, kept few (issue 16: at most 6 for a new bid; 5 now).

A new bid through the API on PostgreSQL costs five statements in all (besides ``BEGIN`` and
``COMMIT``), each one named in docs/sealed-bidding.md, "What one bid costs":

1. the API token, its user and organization (``accounts.auth``);
2. the round item, specification, ceiling and the bidder's own product (``bid_target``);
3. the round row ``FOR SHARE`` (with its ``signatures_required``), its opening public key,
   its qualification and authorisation-letter rule and a new bid id (``round_for_bid``);
4. the bid and its first sealed version, inserted together, then the round's bid log head
   locked ``FOR UPDATE``, the transaction's last lock (``bid_and_version_insert``; nothing
   is inserted and nothing locked when the bid already exists);
5. the log entry and the new head, written together, with the ``COMMIT`` in the same
   round trip (``log_entry_write``), just after the deadline's last clock reading.

The head's row lock is thus held from statement 4's end to the commit: the Python that
chains the entry (two SHA-256), one round trip and the commit's WAL flush.

A signed bid costs one statement more: the signing key by its fingerprint
(``accounts.signing.signature_check``), read before anything is written.

Each function here has a portable form (the ORM, several statements) used on other
databases (SQLite in development and most tests), with the same result.

On PostgreSQL these statements are sent with server-side parameter binding and prepared
once per database connection (``_cursor``): PostgreSQL plans the six-table join of
``bid_target`` in about 2 ms and runs it in 0.05, so a connection kept between requests
(``CONN_MAX_AGE``) plans it once. The rest of the project keeps Django's client-side
binding; ``DJANGO_DB_PREPARED=off`` turns the preparation off (a pooler in transaction
mode without prepared-statement support). Their SQL text is built once per process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model

from bidding.models import Bid, BidLogEntry, BidLogHead, BidVersion, RoundCustody
from catalog.models import Product, Specification
from procurement.models import Ceiling, Round, RoundItem


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


@cache
def _prepared_cursor_class() -> type:
    """Django's server-side binding cursor (psycopg 3) whose every statement is prepared:
    psycopg names it on its first execution on a connection and reuses it after, as long
    as the connection lives (``CONN_MAX_AGE``); with ``prepare_threshold`` set to None
    (``DJANGO_DB_PREPARED=off``) psycopg prepares nothing and it only binds."""
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True)

        def _send_query_prepared(self, name: bytes, pgq: Any, **kwargs: Any) -> None:
            # As psycopg's unprepared path does: Django's query log (DEBUG, tests) reads
            # the statement it ran from here.
            self._query = pgq
            super()._send_query_prepared(name, pgq, **kwargs)

    return PreparedCursor


def _cursor() -> CursorWrapper:
    """A cursor for this module's statements, wrapped as ``connection.cursor()`` wraps
    its own (statements are counted, logged and pass ``execute_wrapper``); on PostgreSQL
    its statements are prepared (module docstring)."""
    if not _postgresql():
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(  # type: ignore[attr-defined]
            _prepared_cursor_class()(connection.connection)
        )


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
    return _select_text(connection.vendor, model, alias)


@cache
def _select_text(vendor: str, model: type[Model], alias: str) -> str:
    del vendor  # part of the cache key: the quoting is the database's
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


@cache
def _insert_text(vendor: str, model: type[Model], with_pk: bool) -> tuple[str, str]:
    """The column list and typed placeholders of an insert into ``model``'s table."""
    del vendor  # part of the cache key: the quoting and types are the database's
    fields = [f for f in _fields(model) if with_pk or not f.primary_key]
    # Typed: the values of an INSERT ... SELECT are not typed by their target columns.
    return ", ".join(_column(f) for f in fields), ", ".join(_cast(f) for f in fields)


def _insert_values(obj: Model) -> tuple[str, str, list[Any]]:
    """Columns, typed placeholders and parameters to insert ``obj`` (primary key included
    when set), after each field's ``pre_save`` (``auto_now`` and the like)."""
    with_pk = obj.pk is not None
    fields = [f for f in _fields(type(obj)) if with_pk or not f.primary_key]
    columns, placeholders = _insert_text(connection.vendor, type(obj), with_pk)
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
    with _cursor() as cursor:
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
    with _cursor() as cursor:
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


@dataclass
class Inserted:
    """What ``bid_and_version_insert`` wrote: whether it did, and the round's bid log head
    it locked right after (None when it wrote nothing, or the round has no head yet)."""

    written: bool
    head: BidLogHead | None = None


def bid_and_version_insert(*, bid: Bid, version: BidVersion) -> Inserted:
    """Insert a new ``bid`` (its id reserved by ``round_for_bid``) and its first
    ``version`` in one statement; nothing written when the bid exists already (the same
    specification or product bid before, or at this very moment).

    On PostgreSQL the same statement then locks the round's bid log head ``FOR UPDATE``
    and returns it (statement 5 of the module docstring, folded into 4): only once both
    rows are inserted (the lock is taken in a CTE gated on the version's insert), so a
    bid that waits on a concurrent insert of the same bid holds no head lock while it
    waits, and one that writes nothing locks nothing. The head is still the bid
    transaction's last lock; the caller appends the entry with it (``log_entry_write``).

    A reused Idempotency-Key raises IntegrityError (the caller retries and replays)."""
    assert bid.pk is not None and version.bid_id == bid.pk
    bid_columns, bid_values, bid_params = _insert_values(bid)
    version_columns, version_values, version_params = _insert_values(version)
    assert _postgresql()  # the bid id is reserved there (``round_for_bid``)
    head_round = _column(BidLogHead._meta.get_field("round"))
    sql = (
        f"WITH b AS (INSERT INTO {_table(Bid)} ({bid_columns}) "  # noqa: S608
        f"VALUES ({bid_values}) ON CONFLICT DO NOTHING RETURNING id), "
        f"v AS (INSERT INTO {_table(BidVersion)} ({version_columns}) "
        f"SELECT {version_values} FROM b RETURNING id), "
        f"h AS (SELECT {_select(BidLogHead, 'h')} FROM {_table(BidLogHead)} h "
        f"WHERE h.{head_round} = %s AND EXISTS (SELECT 1 FROM v) FOR UPDATE) "
        "SELECT (SELECT id FROM v), h.* FROM (SELECT 1) one LEFT JOIN h ON true"
    )
    with _cursor() as cursor:
        cursor.execute(sql, [*bid_params, *version_params, bid.round_id])
        row = cursor.fetchone()
    assert row is not None
    if row[0] is None:
        bid._state.adding = True
        return Inserted(written=False)
    bid._state.adding = False
    version.pk = row[0]
    version._state.adding = False
    head = _instance(BidLogHead, row[1:]) if row[1] is not None else None
    return Inserted(written=True, head=head)  # type: ignore[arg-type]


# --- 5 and 6. the bid log --------------------------------------------------------------------


def log_head_lock(round_: Round) -> BidLogHead:
    """The round's bid log head, locked ``FOR UPDATE`` (the bid transaction's last lock).

    Bidding opening creates it (``log_head_ensure``); a round opened before that gets it
    here on its first bid (concurrently safe: a second insert is ignored)."""
    head = _head_locked(round_.pk)
    if head is None:
        log_head_ensure(round_)
        head = BidLogHead.objects.select_for_update().get(round=round_)
    return head


def _head_locked(round_id: int) -> BidLogHead | None:
    if not _postgresql():
        return BidLogHead.objects.select_for_update().filter(round_id=round_id).first()
    sql = (
        f"SELECT {_select(BidLogHead, 'h')} FROM {_table(BidLogHead)} h "  # noqa: S608
        f"WHERE h.{_column(BidLogHead._meta.get_field('round'))} = %s FOR UPDATE"
    )
    with _cursor() as cursor:
        cursor.execute(sql, [round_id])
        row = cursor.fetchone()
    return _instance(BidLogHead, row) if row is not None else None  # type: ignore[return-value]


def log_head_ensure(round_: Round) -> None:
    from bidding.bidlog import EMPTY_ROOT

    BidLogHead.objects.bulk_create(
        [BidLogHead(round=round_, root=EMPTY_ROOT.hex())], ignore_conflicts=True
    )


_HEAD_CHANGES = ("size", "root", "compact", "updated_at")


@cache
def _head_assignments(vendor: str) -> str:
    del vendor  # part of the cache key
    changed = [f for f in _fields(BidLogHead) if f.name in _HEAD_CHANGES]
    return ", ".join(f"{_column(f)} = {_cast(f)}" for f in changed)


def log_entry_write(*, head: BidLogHead, entry: BidLogEntry, commit: bool = False) -> bool:
    """Insert ``entry`` and save the ``head`` it leads to, in one statement (PostgreSQL).

    ``commit``: this is the transaction's last statement; when the caller's atomic block
    is the outermost one (nothing encloses it), ``COMMIT`` is sent with it in one round
    trip (the simple query protocol: client-side binding, not prepared), so the head's
    row lock is released one round trip sooner. Returns whether it committed (Django's
    own ``COMMIT`` at the block's end then finds the transaction finished and sends
    nothing). Anything that may refuse the bid must run before."""
    if not _postgresql():
        entry.save(force_insert=True)
        head.save(update_fields=["size", "root", "compact", "updated_at"])
        return False
    commit = (
        commit
        and connection.commit_on_exit
        and len(connection.atomic_blocks) == 1
        and not connection.needs_rollback
    )
    columns, values, params = _insert_values(entry)
    changed = [f for f in _fields(BidLogHead) if f.name in _HEAD_CHANGES]
    assignments = _head_assignments(connection.vendor)
    head_params = [f.get_db_prep_save(f.pre_save(head, False), connection) for f in changed]
    sql = (
        f"WITH e AS (INSERT INTO {_table(BidLogEntry)} ({columns}) "  # noqa: S608
        f"VALUES ({values}) RETURNING id) "
        f"UPDATE {_table(BidLogHead)} SET {assignments} "
        "WHERE id = %s RETURNING (SELECT id FROM e)"
    )
    with connection.cursor() if commit else _cursor() as cursor:
        cursor.execute(f"{sql}; COMMIT" if commit else sql, [*params, *head_params, head.pk])
        row = cursor.fetchone()
    assert row is not None
    entry.pk = row[0]
    entry._state.adding = False
    return commit


__all__ = [
    "BidTarget",
    "Inserted",
    "RoundForBid",
    "bid_and_version_insert",
    "bid_target",
    "log_entry_write",
    "log_head_ensure",
    "log_head_lock",
    "round_for_bid",
]
