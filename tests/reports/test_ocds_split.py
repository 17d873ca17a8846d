"""The OCDS release files (issue 19): the package split into release packages of the
same contracting process, written as a stream by the task, listed by an index with each
file's SHA-256, size and build time, and listed on the public round page. Every release
and every contract appears exactly once across the files, each file is a valid release
package, and the hashes are those of the bytes served."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from contracts.models import Contract
from procurement.models import Round
from reports import ocds, open_data
from reports.models import OpenDataFile

pytestmark = pytest.mark.django_db

K = OpenDataFile.Kind


@pytest.fixture
def demo_round(settings, tmp_path, monkeypatch) -> Round:
    """The demo's round in execution (85 contracts), split small: 10 contracts per
    release, 3 releases per file."""
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(open_data, "CONTRACTS_PER_RELEASE", 10)
    monkeypatch.setattr(open_data, "RELEASES_PER_FILE", 3)
    call_command("seed_demo", verbosity=0)
    return Round.objects.get(code="DEMO-2026-A1")


def _get(client: Client, url: str) -> tuple[bytes, dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return body, dict(response.headers)


def _files(round_: Round) -> tuple[dict, list[tuple[dict, bytes, dict[str, str]]]]:
    client = Client()
    index_bytes, _ = _get(client, reverse("reports:ocds-index", args=[round_.pk]))
    index = json.loads(index_bytes)
    files = []
    for entry in index["files"]:
        body, headers = _get(
            client, reverse("reports:ocds-part", args=[round_.pk, entry["number"]])
        )
        files.append((entry, body, headers))
    return index, files


def test_every_release_and_contract_appears_once_and_each_file_is_a_valid_package(
    demo_round,
) -> None:
    index, files = _files(demo_round)
    contracts_in_db = set(
        Contract.objects.filter(round=demo_round).values_list("number", flat=True)
    )
    assert len(contracts_in_db) == 85
    # 1 file with the round's release, then 9 contract releases (10 + ... + 5) in 3 files
    assert [e["releases"] for e, _, _ in files] == [1, 3, 3, 3]
    assert [e["contracts"] for e, _, _ in files] == [0, 30, 30, 25]
    release_ids: Counter[str] = Counter()
    contract_ids: Counter[str] = Counter()
    for entry, body, _headers in files:
        package = ocds.loads(body)
        assert ocds.validation_errors(package) == [], entry["number"]
        assert package["uri"].endswith(
            reverse("reports:ocds-part", args=[demo_round.pk, entry["number"]])
        )
        for release in package["releases"]:
            assert release["ocid"] == ocds.ocid(demo_round)
            release_ids[release["id"]] += 1
            for contract in release.get("contracts", []):
                contract_ids[contract["id"]] += 1
            # Each release names the parties its contracts refer to, and only those.
            if release["tag"] == ["contract"]:
                named = {c["buyer"]["id"] for c in release["contracts"]}
                assert named <= {p["id"] for p in release["parties"]}
    assert set(release_ids.values()) == {1} and len(release_ids) == index["releases"] == 10
    assert set(contract_ids.values()) == {1} and set(contract_ids) == contracts_in_db
    assert index["contracts"] == 85


def test_the_hashes_and_sizes_are_those_of_the_bytes_served(demo_round) -> None:
    _index, files = _files(demo_round)
    for entry, body, headers in files:
        assert hashlib.sha256(body).hexdigest() == entry["sha256"] == headers["X-Content-SHA256"]
        assert len(body) == entry["size"]
        assert entry["builtAt"] and entry["name"].endswith(f"-ocds-{entry['number']:04d}.json")
    row = OpenDataFile.objects.get(round=demo_round, kind=K.OCDS_SPLIT)
    with row.file.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == row.sha256


def test_the_split_carries_what_the_one_piece_package_does(demo_round) -> None:
    whole = ocds.loads(_get(Client(), reverse("reports:ocds", args=[demo_round.pk]))[0])
    (release,) = whole["releases"]
    _index, files = _files(demo_round)
    first = ocds.loads(files[0][1])["releases"][0]
    assert first["tag"] == ["award"] and "contracts" not in first
    assert first["awards"] == release["awards"] and first["tender"] == release["tender"]
    split = [
        c for _, body, _ in files[1:] for r in ocds.loads(body)["releases"] for c in r["contracts"]
    ]
    assert split == release["contracts"]  # the same entries, in the same order (by number)


def test_the_public_page_lists_the_files(demo_round) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(
        reverse("reports:public-round", args=[demo_round.pk])
    )
    text = page.content.decode()
    index = json.loads(_get(Client(), reverse("reports:ocds-index", args=[demo_round.pk]))[0])
    for entry in index["files"]:
        assert reverse("reports:ocds-part", args=[demo_round.pk, entry["number"]]) in text
        assert entry["sha256"] in text
    assert reverse("reports:ocds-index", args=[demo_round.pk]) in text


def test_a_round_too_large_for_one_piece_has_only_its_release_files(demo_round, settings) -> None:
    settings.JICAI_OCDS_ONE_PIECE_MAX_CONTRACTS = 84
    assert open_data.build(round_id=demo_round.pk, kind=K.OCDS) is None
    for url in (
        reverse("reports:ocds", args=[demo_round.pk]),
        reverse("api-round-ocds", args=[demo_round.code]),
    ):
        response = Client().get(url)
        assert response.status_code == 303
        assert response["Location"] == reverse("reports:ocds-index", args=[demo_round.pk])
    assert Client().get(reverse("reports:ocds-part", args=[demo_round.pk, 99])).status_code == 404


def test_the_task_reads_the_contracts_a_release_at_a_time(demo_round, monkeypatch) -> None:
    """Bounded memory: no query reads more contracts than one release holds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        row = open_data.build(round_id=demo_round.pk, kind=K.OCDS_SPLIT)
    assert row is not None and row.inputs_key
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT "contracts_contract"."id"') and "LIMIT" not in q["sql"]
    ]
    assert not reads, reads[:1]
