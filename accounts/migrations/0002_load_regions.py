"""Load the 31 provincial units (data migration; idempotent)."""

from django.db import migrations

# The list is stable reference data (GB/T 2260), so the migration reads the module rather
# than a frozen copy: one source of truth.
from accounts.regions import PROVINCES


def load_regions(apps, schema_editor):
    Region = apps.get_model("accounts", "Region")
    for code, name_zh, name_en in PROVINCES:
        Region.objects.update_or_create(code=code, defaults={"name_zh": name_zh, "name_en": name_en})


def unload_regions(apps, schema_editor):
    apps.get_model("accounts", "Region").objects.filter(code__in=[p[0] for p in PROVINCES]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load_regions, unload_regions)]
