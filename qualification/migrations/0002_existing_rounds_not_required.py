"""Rounds that existed before the qualification app keep bidding as before: their
requirement is switched off explicitly (new rounds follow JICAI_QUALIFICATION_REQUIRED)."""

from django.db import migrations


def switch_off_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    Round = apps.get_model("procurement", "Round")
    Rule = apps.get_model("qualification", "RoundQualificationRule")
    Rule.objects.bulk_create(
        [Rule(round_id=pk, required=False) for pk in Round.objects.values_list("pk", flat=True)],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [("qualification", "0001_documents_registrations_rules")]

    operations = [migrations.RunPython(switch_off_existing, migrations.RunPython.noop)]
