"""Writing demand: the current declarations read in bulk, new and changed lines written
with their history in one go (binary COPY on PostgreSQL, ``common.bulk_copy``)."""

from __future__ import annotations

import datetime
import io

import pandas as pd
from django.db import connection

from accounts.models import Organization, User
from common.bulk_copy import copy_columns
from common.uploads import Action
from procurement.models import DemandChange, DemandDeclaration, Round


def demand_existing(round_: Round, hospital: Organization | None) -> pd.DataFrame:
    """The current declarations (ids, keys, quantity) as a frame.

    On PostgreSQL they are read with ``COPY (SELECT ...) TO STDOUT``: a million rows in about
    a second, where building a million ORM tuples takes several.
    """
    queryset = DemandDeclaration.objects.filter(round_item__round=round_)
    if hospital is not None:
        queryset = queryset.filter(hospital=hospital)
    names = [
        "declaration_id",
        "hospital_id",
        "round_item_id",
        "specification_id",
        "product_id",
        "old_quantity",
    ]
    selected = queryset.values_list(
        "pk", "hospital_id", "round_item_id", "specification_id", "product_id", "quantity"
    )
    if connection.vendor == "postgresql":
        sql, params = selected.query.sql_with_params()
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            query = cursor.cursor.mogrify(sql, params)
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
                for chunk in copy:
                    buffer.write(chunk)
        buffer.seek(0)
        if buffer.getbuffer().nbytes == 0:
            frame = pd.DataFrame(columns=names)
        else:
            frame = pd.read_csv(buffer, header=None, names=names, dtype="Int64")
    else:
        frame = pd.DataFrame(list(selected), columns=names)
    return frame.astype({name: "Int64" for name in names})


def demand_write(
    *, lines: pd.DataFrame, target: str, channel: str, by: User, now: datetime.datetime
) -> None:
    """Write resolved lines (actions create/change) and their history rows.

    New lines and every history row go through ``copy_columns``: on PostgreSQL binary COPY
    straight into both tables, so the million new lines of a national import cost about
    what copying them costs; the constant columns (time, channel, user) are constants in
    the stream, and the column that is NULL for the round's kind (product for drugs,
    specification for consumables) is left out. Changed lines are updated in one
    statement (``_update_quantities``).
    """
    target_column = str(
        DemandDeclaration._meta.get_field(target.removesuffix("_id")).column  # type: ignore[union-attr]
    )
    creates = lines[lines["action"] == Action.CREATE]
    updates = lines[lines["action"] == Action.CHANGE]
    keys = {
        "round_item_id": creates["round_item_id"],
        "hospital_id": creates["hospital_id"],
        target_column: creates[target],
    }
    copy_columns(
        DemandDeclaration,
        {**keys, "quantity": creates["quantity"], "updated_at": now},
        len(creates),
    )
    history = {"channel": channel, "by_id": by.pk, "at": now}
    copy_columns(
        DemandChange, {**keys, "new_quantity": creates["quantity"], **history}, len(creates)
    )
    if updates.empty:
        return
    _update_quantities(updates, now=now)
    changed = {
        "round_item_id": updates["round_item_id"],
        "hospital_id": updates["hospital_id"],
        target_column: updates[target],
        "old_quantity": updates["old_quantity"],
        "new_quantity": updates["quantity"],
    }
    copy_columns(DemandChange, {**changed, **history}, len(updates))


def _update_quantities(updates: pd.DataFrame, *, now: datetime.datetime) -> None:
    """Set the new quantity of changed declarations: on PostgreSQL one ``UPDATE ... FROM``
    a staging table filled by COPY; elsewhere ``bulk_update`` in batches."""
    if connection.vendor != "postgresql":
        updated = [
            DemandDeclaration(pk=int(pk), quantity=int(q), updated_at=now)
            for pk, q in zip(updates["declaration_id"], updates["quantity"], strict=True)
        ]
        DemandDeclaration.objects.bulk_update(updated, ["quantity", "updated_at"], batch_size=2000)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE demand_stage (declaration_id bigint, quantity bigint)"
            " ON COMMIT DROP"
        )
    copy_columns(
        "demand_stage",
        {"declaration_id": updates["declaration_id"], "quantity": updates["quantity"]},
        len(updates),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DemandDeclaration._meta.db_table} AS d"  # noqa: S608
            " SET quantity = s.quantity, updated_at = %s"
            " FROM demand_stage AS s WHERE d.id = s.declaration_id",
            [now],
        )
        cursor.execute("DROP TABLE demand_stage")
