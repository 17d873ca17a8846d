"""The result document as compressed JSON (``awards.documents``) instead of jsonb: each
stored document is packed into a new bytea column, the jsonb column dropped and the new
one takes its name. Reversible (unpacked back into jsonb)."""

import json
import zlib

import orjson
from django.db import migrations, models


def pack(apps, schema_editor):
    EvaluationRun = apps.get_model("awards", "EvaluationRun")
    rows = EvaluationRun.objects.filter(result__isnull=False).values_list("pk", "result")
    for pk, document in rows.iterator(chunk_size=20):
        packed = zlib.compress(orjson.dumps(document, option=orjson.OPT_SORT_KEYS), 1)
        EvaluationRun.objects.filter(pk=pk).update(result_packed=packed)


def unpack(apps, schema_editor):
    EvaluationRun = apps.get_model("awards", "EvaluationRun")
    rows = EvaluationRun.objects.filter(result_packed__isnull=False).values_list(
        "pk", "result_packed"
    )
    for pk, packed in rows.iterator(chunk_size=20):
        document = json.loads(zlib.decompress(packed))
        EvaluationRun.objects.filter(pk=pk).update(result=document)


class Migration(migrations.Migration):

    dependencies = [
        ("awards", "0005_allocation_page_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="evaluationrun",
            name="result_packed",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.RunPython(pack, unpack, elidable=True),
        migrations.RemoveField(model_name="evaluationrun", name="result"),
        migrations.RenameField(
            model_name="evaluationrun", old_name="result_packed", new_name="result"
        ),
        migrations.AlterField(
            model_name="evaluationrun",
            name="result",
            field=models.BinaryField(blank=True, null=True, verbose_name="result document"),
        ),
    ]
