"""On PostgreSQL, the ceremony log (designations, passphrases set, key generation, every
presentation, refused ones included, and the opening) refuses UPDATE and DELETE in the
database itself, as the decryption audit log does (0002)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION bidding_ceremony_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE =
        'bidding_ceremonyevent is append-only (' || TG_OP || ' refused)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER bidding_ceremonyevent_no_update_delete
    BEFORE UPDATE OR DELETE ON bidding_ceremonyevent
    FOR EACH ROW EXECUTE FUNCTION bidding_ceremony_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS bidding_ceremonyevent_no_update_delete ON bidding_ceremonyevent;
DROP FUNCTION IF EXISTS bidding_ceremony_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bidding", "0003_opening_key_custody")]

    operations = [migrations.RunPython(create, drop)]
