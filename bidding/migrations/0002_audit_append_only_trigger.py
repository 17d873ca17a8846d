"""On PostgreSQL, the decryption audit log refuses UPDATE and DELETE in the database
itself, so a direct SQL session cannot rewrite a row without first dropping the trigger
(a schema change that needs the table owner's rights and is visible). TRUNCATE is left to
the owner: the test suite's flush uses it; production roles should not hold TRUNCATE."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION bidding_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE =
        'bidding_decryptionaudit is append-only (' || TG_OP || ' refused)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER bidding_decryptionaudit_no_update_delete
    BEFORE UPDATE OR DELETE ON bidding_decryptionaudit
    FOR EACH ROW EXECUTE FUNCTION bidding_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS bidding_decryptionaudit_no_update_delete ON bidding_decryptionaudit;
DROP FUNCTION IF EXISTS bidding_audit_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bidding", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
