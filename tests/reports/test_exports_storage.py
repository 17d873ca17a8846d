"""Report PDFs are files in Django's storage (``ReportDocument.pdf``), not bytes in the
table: the row keeps the file's name and its SHA-256 (docs/reports.md, "Storage at
national scale"). Downloads stream the file; pages and lists never open one; storing new
bytes writes a new file and deletes the old one once that commits; deleting a document
deletes its file; the migration moves existing rows' bytes into files.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from pypdf import PdfWriter

from common.pdf import sha256
from reports import selectors, services
from reports.models import ReportDocument
from tests.factories import TEST_PASSWORD
from tests.reports.factories import small_awarded_round

pytestmark = pytest.mark.django_db

AWARD = {"kind": ReportDocument.Kind.AWARD_RESULT, "organization": None}


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    """Every file these tests write goes to a folder of their own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _storage():
    return ReportDocument._meta.get_field("pdf").storage


def _store(built, *, pdf: bytes) -> ReportDocument:
    return services.document_store(
        round_=built.round, **AWARD, language="en", run=built.run, pdf=pdf
    )


def _client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.fixture
def stored(django_capture_on_commit_callbacks):
    built = small_awarded_round(code="R-STORE-1")
    with django_capture_on_commit_callbacks(execute=True):
        for language in ("zh-hans", "en"):
            services.document_store(
                round_=built.round, **AWARD, language=language, run=built.run, pdf=_pdf(1)
            )
        services.document_store(
            round_=built.round,
            kind=ReportDocument.Kind.HOSPITAL,
            language="en",
            organization=built.hospitals["11"].organization,
            run=built.run,
            pdf=_pdf(2),
        )
    return built


def test_the_table_holds_names_and_hashes_and_the_files_hold_the_bytes(stored, media) -> None:
    with connection.cursor() as cursor:
        columns = {
            c.name: c.type_code
            for c in connection.introspection.get_table_description(
                cursor, ReportDocument._meta.db_table
            )
        }
    assert "content" not in columns
    assert "pdf" in columns
    for document in ReportDocument.objects.filter(round=stored.round):
        path = Path(media) / document.pdf.name
        assert path.is_file(), document.pdf.name
        data = path.read_bytes()
        assert sha256(data) == document.sha256 and len(data) == document.size
        assert document.pdf.name.startswith(f"reports/R-STORE-1/{document.kind}")
        assert document.pdf.name.endswith(f"-{document.language}-{document.sha256[:16]}.pdf")
        assert document.content == data  # read back through the storage API


def test_a_download_streams_the_stored_file_with_its_hash(stored) -> None:
    response = _client().get(reverse("reports:award-pdf", args=[stored.round.pk, "en"]))
    assert response.status_code == 200
    assert response.streaming  # from storage, not built in memory
    body = response.getvalue()
    assert body == _pdf(1)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="R-STORE-1-award_result-en.pdf"'
    assert response["Content-Length"] == str(len(body))
    assert response["X-Content-SHA256"] == sha256(body)

    hospital = stored.hospitals["11"]
    party = reverse("reports:party-pdf", args=[stored.round.pk, "en"])
    own = _client(hospital).get(party)
    assert own.status_code == 200 and own.getvalue() == _pdf(2)
    assert own["X-Content-SHA256"] == sha256(_pdf(2))
    org = hospital.organization_id
    assert own["Content-Disposition"] == f'inline; filename="R-STORE-1-hospital-{org}-en.pdf"'
    # Access is unchanged: another hospital of the round has no report, outsiders none.
    assert _client(stored.hospitals["31"]).get(party).status_code == 404
    assert _client().get(party).status_code in {302, 403}


def test_pages_and_lists_never_open_a_file(stored, monkeypatch) -> None:
    opened: list[str] = []
    real_open = FileSystemStorage._open

    def counting_open(self, name, mode="rb"):
        if name.endswith(".pdf"):  # the analysis pages read their stored figures (JSON)
            opened.append(name)
        return real_open(self, name, mode)

    monkeypatch.setattr(FileSystemStorage, "_open", counting_open)
    hospital = stored.hospitals["11"]
    assert len(selectors.documents_public(round_=stored.round)) == 2
    assert len(list(selectors.party_documents_for_user(user=hospital))) == 1
    [panel] = selectors.rounds_for_office_panel(user=stored.office)
    assert len(panel["documents"]) == 2
    pages = [
        _client().get(reverse("reports:public-round", args=[stored.round.pk])),
        _client(hospital).get(reverse("accounts:hospital-home")),
        _client(stored.office).get(reverse("reports:office-analysis", args=[stored.round.pk])),
    ]
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert opened == []
    _client().get(reverse("reports:award-pdf", args=[stored.round.pk, "en"])).getvalue()
    assert len(opened) == 1  # only a download reads a file


def test_regenerating_replaces_the_file_and_deletes_the_old_one(
    stored, django_capture_on_commit_callbacks
) -> None:
    key = {"round": stored.round, **AWARD, "language": "en"}
    before = ReportDocument.objects.get(**key)
    storage = _storage()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        same = _store(stored, pdf=_pdf(1))
    assert callbacks == []  # the same bytes: nothing written, nothing deleted
    assert (same.pk, same.generated_at, same.pdf.name) == (
        before.pk,
        before.generated_at,
        before.pdf.name,
    )

    with django_capture_on_commit_callbacks(execute=True):
        _store(stored, pdf=_pdf(3))
    after = ReportDocument.objects.get(**key)
    assert after.pk == before.pk and after.sha256 == sha256(_pdf(3)) != before.sha256
    assert (after.pages, after.size) == (3, len(_pdf(3)))
    assert after.pdf.name != before.pdf.name
    assert not storage.exists(before.pdf.name)  # deleted once the new one was committed
    download = _client().get(reverse("reports:award-pdf", args=[stored.round.pk, "en"]))
    assert download.getvalue() == _pdf(3) and download["X-Content-SHA256"] == after.sha256


def test_a_store_that_fails_keeps_the_old_file_and_leaves_no_new_one(
    stored, monkeypatch, media
) -> None:
    key = {"round": stored.round, **AWARD, "language": "en"}
    before = ReportDocument.objects.get(**key)
    files_before = sorted(p.name for p in Path(media).rglob("*.pdf"))

    def broken_save(self, *args, **kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(ReportDocument, "save", broken_save)
    with pytest.raises(DatabaseError):
        _store(stored, pdf=_pdf(4))
    assert sorted(p.name for p in Path(media).rglob("*.pdf")) == files_before
    assert ReportDocument.objects.get(**key).pdf.name == before.pdf.name
    assert _storage().exists(before.pdf.name)


def test_deleting_a_document_deletes_its_file(stored, django_capture_on_commit_callbacks) -> None:
    document = ReportDocument.objects.get(round=stored.round, **AWARD, language="zh-hans")
    name = document.pdf.name
    with django_capture_on_commit_callbacks(execute=True):
        ReportDocument.objects.filter(pk=document.pk).delete()
    assert not _storage().exists(name)
    assert ReportDocument.objects.filter(round=stored.round).count() == 2
    missing = _client().get(reverse("reports:award-pdf", args=[stored.round.pk, "zh-hans"]))
    assert missing.status_code == 404


def test_a_missing_file_is_not_found_not_an_error(stored) -> None:
    document = ReportDocument.objects.get(round=stored.round, **AWARD, language="en")
    _storage().delete(document.pdf.name)
    response = _client().get(reverse("reports:award-pdf", args=[stored.round.pk, "en"]))
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_the_stored_bytes_into_files(media) -> None:
    """Back to before the move (bytes in the column), a row with bytes, forward again: the
    row's bytes are in a file named by its hash, and the column is gone."""
    built = small_awarded_round(code="R-MIGRATE")
    executor = MigrationExecutor(connection)
    executor.migrate([("reports", "0002_generation_job")])
    old_apps = executor.loader.project_state([("reports", "0002_generation_job")]).apps
    OldDocument = old_apps.get_model("reports", "ReportDocument")
    pdf = _pdf(2)
    old = OldDocument.objects.create(
        round_id=built.round.pk,
        kind="award_result",
        language="en",
        content=pdf,
        sha256=sha256(pdf),
        size=len(pdf),
        pages=2,
        run_id_reported=built.run.pk,
        generated_at=built.run.requested_at,
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    # Forward to the latest migrations (the later ones too: the next tests need their tables).
    executor.migrate(executor.loader.graph.leaf_nodes())

    document = ReportDocument.objects.get(pk=old.pk)
    assert document.pdf.name == f"reports/R-MIGRATE/award_result-en-{sha256(pdf)[:16]}.pdf"
    assert (Path(media) / document.pdf.name).read_bytes() == pdf
    assert document.sha256 == sha256(pdf)
    download = _client().get(reverse("reports:award-pdf", args=[built.round.pk, "en"]))
    assert download.status_code == 200 and sha256(download.getvalue()) == document.sha256
