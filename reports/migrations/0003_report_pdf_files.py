"""Report PDFs move from the table (``ReportDocument.content``, bytes) to files in Django's
storage (``ReportDocument.pdf``): each existing row's bytes are written to a file named by
its content, checked against the row's SHA-256, and the column is dropped. Reversible: the
reverse reads each file back into the column (and leaves the files in place)."""

import hashlib

from django.core.files.base import ContentFile
from django.db import migrations, models


def _name(document) -> str:
    # As reports.models.report_file_name (a migration does not import the app's code).
    suffix = "" if document.organization_id is None else f"-{document.organization_id}"
    return (
        f"reports/{document.round.code}/{document.kind}{suffix}-{document.language}-"
        f"{document.sha256[:16]}.pdf"
    )


def bytes_to_files(apps, schema_editor):
    ReportDocument = apps.get_model("reports", "ReportDocument")
    storage = ReportDocument._meta.get_field("pdf").storage
    # One row's bytes in memory at a time (2,000 reports are ~600 MB).
    for pk in ReportDocument.objects.order_by("pk").values_list("pk", flat=True):
        document = ReportDocument.objects.select_related("round").get(pk=pk)
        data = bytes(document.content or b"")
        digest = hashlib.sha256(data).hexdigest()
        if digest != document.sha256:
            raise RuntimeError(
                f"report document {pk}: its bytes do not match its stored SHA-256 "
                f"({digest} vs {document.sha256}); not moved"
            )
        document.pdf = storage.save(_name(document), ContentFile(data))
        document.content = None
        document.save(update_fields=["pdf", "content"])


def files_to_bytes(apps, schema_editor):
    ReportDocument = apps.get_model("reports", "ReportDocument")
    for pk in ReportDocument.objects.order_by("pk").values_list("pk", flat=True):
        document = ReportDocument.objects.get(pk=pk)
        with document.pdf.open("rb") as stream:
            document.content = stream.read()
        document.save(update_fields=["content"])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_generation_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="reportdocument",
            name="pdf",
            field=models.FileField(
                default="", max_length=255, upload_to="reports/", verbose_name="PDF"
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="reportdocument",
            name="content",
            field=models.BinaryField(null=True, verbose_name="PDF"),
        ),
        migrations.RunPython(bytes_to_files, files_to_bytes),
        migrations.RemoveField(
            model_name="reportdocument",
            name="content",
        ),
    ]
