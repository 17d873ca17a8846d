"""Whether a round requires signed bids and contract confirmations (docs/signatures.md).

Rounds that existed before signatures keep working as before: their requirement is
switched off explicitly (their bids and contracts were never signed); new rounds follow
JICAI_SIGNATURES_REQUIRED.
"""

from django.db import migrations, models


def switch_off_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("procurement", "Round").objects.update(signatures_required=False)


class Migration(migrations.Migration):
    dependencies = [("procurement", "0005_demand_change_newest_first_index")]

    operations = [
        migrations.AddField(
            model_name="round",
            name="signatures_required",
            field=models.BooleanField(
                blank=True, default=None, null=True, verbose_name="signatures required"
            ),
        ),
        migrations.RunPython(switch_off_existing, migrations.RunPython.noop),
    ]
