"""Drop the credentials the database held in clear.

DRF's ``authtoken_token`` kept every API token as is, and ``django_session`` every session
key: whoever had a copy of the database (a backup, a replica, a dump) could use them, and
old backups still hold them. They cannot be carried over as digests without keeping
credentials that have already been exposed, so they are dropped: every user signs in again,
and hospitals and manufacturers create new API tokens on the API token page
(docs/security.md, "Upgrading an existing installation"). The ``authtoken`` app's
migration records go too, as its table is gone.
"""

from __future__ import annotations

from django.db import migrations


def drop_clear_text_credentials(apps, schema_editor) -> None:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        if "authtoken_token" in tables:
            cursor.execute(f"DROP TABLE {quote('authtoken_token')}")
            cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])
        if "django_session" in tables:
            cursor.execute(f"DELETE FROM {quote('django_session')}")  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_api_tokens_and_hashed_sessions")]

    operations = [
        migrations.RunPython(drop_clear_text_credentials, migrations.RunPython.noop),
    ]
