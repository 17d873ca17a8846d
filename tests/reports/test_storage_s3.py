"""Report PDFs in S3-compatible object storage: ``JICAI_S3_BUCKET`` switches the default
storage to django-storages' S3 backend (``config.storage``), and storing, downloading,
regenerating and deleting work the same as on the file system. The S3 API is moto's
in-process fake (no network)."""

from __future__ import annotations

import boto3
import pytest
from django.test import Client
from django.urls import reverse
from moto import mock_aws

from common.pdf import sha256
from config.storage import default_storage
from reports import services
from reports.models import ReportDocument
from tests.reports.factories import small_awarded_round
from tests.reports.test_exports_storage import _pdf

pytestmark = pytest.mark.django_db

BUCKET = "jicai-reports-test"


def test_the_environment_chooses_the_storage() -> None:
    assert default_storage({}) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    s3 = default_storage(
        {
            "JICAI_S3_BUCKET": "jicai",
            "JICAI_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "JICAI_S3_ADDRESSING_STYLE": "path",
            "JICAI_S3_PREFIX": "prod",
        }
    )
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "jicai"
    assert s3["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"
    assert s3["OPTIONS"]["addressing_style"] == "path"
    assert s3["OPTIONS"]["location"] == "prod"
    assert s3["OPTIONS"]["default_acl"] == "private"
    assert s3["OPTIONS"]["file_overwrite"] is False
    assert "access_key" not in s3["OPTIONS"]  # credentials come from boto3's chain


@pytest.fixture
def s3(settings, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's fake account
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": default_storage(
                {"JICAI_S3_BUCKET": BUCKET, "JICAI_S3_REGION": "us-east-1", "JICAI_S3_PREFIX": "t"}
            ),
        }
        yield client


def _object(client, name: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=f"t/{name}")["Body"].read()


def _keys(client) -> set[str]:
    return {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_reports_are_objects_in_the_bucket(s3, django_capture_on_commit_callbacks) -> None:
    built = small_awarded_round(code="R-S3-1")
    key = {"round_": built.round, "kind": ReportDocument.Kind.AWARD_RESULT, "organization": None}
    with django_capture_on_commit_callbacks(execute=True):
        first = services.document_store(**key, language="en", run=built.run, pdf=_pdf(1))
    assert type(first.pdf.storage._wrapped).__name__ == "S3Storage"
    assert _object(s3, first.pdf.name) == _pdf(1)
    assert sha256(_object(s3, first.pdf.name)) == first.sha256

    response = Client().get(reverse("reports:award-pdf", args=[built.round.pk, "en"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    body = response.getvalue()
    assert body == _pdf(1) and response["X-Content-SHA256"] == sha256(body)

    with django_capture_on_commit_callbacks(execute=True):
        second = services.document_store(**key, language="en", run=built.run, pdf=_pdf(2))
    assert _keys(s3) == {f"t/{second.pdf.name}"}  # the old object is deleted
    assert Client().get(
        reverse("reports:award-pdf", args=[built.round.pk, "en"])
    ).getvalue() == _pdf(2)

    with django_capture_on_commit_callbacks(execute=True):
        ReportDocument.objects.filter(pk=second.pk).delete()
    assert _keys(s3) == set()
