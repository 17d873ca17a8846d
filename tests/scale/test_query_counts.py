"""On PostgreSQL: the number of queries each page and API list makes does not grow with
the data (issue 19).

The demo round (``seed_demo``: 30 hospitals, 12 bids) is built and every page is read;
then a bigger round is built through the same services (``bench.world.build_round``:
the demo's hospitals plus ``EXTRA_HOSPITALS`` more, plus ``EXTRA_MAKERS`` more bids,
so more winners, allocations, contracts and purchases) and every page is read again, on
the bigger round. The counts must be equal. The pages of a user across rounds ("my
awards", the API lists) then show the rows of both rounds, so a query per row or per
round shows up too.

Besides the counts, no page may read a run's result document (tens of megabytes on a
national round) nor write an anti-join as ``NOT (... IN (SELECT ...))``, which
PostgreSQL cannot hash over hundreds of thousands of ids (``NOT EXISTS`` instead), and the
office's and a winner's progress tables are read from the maintained snapshot
(``contracts.summaries``), never totalled over the contract lines per load. The lists
of contracts count at most ``COUNT_LIMIT`` rows, the office's contract-lines tab reads
the lines of one page of contracts only, a hospital's own progress and purchases pages
read only its own contracts' lines, and a party's hospital allocations ("my awards", the
API list) are ordered by the allocation's own columns, the order of the party's index
(``awards_alloc_hospital_page``, ``awards_alloc_maker_page``), not sorted over a join.
"""

from __future__ import annotations

import os
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from bench.world import build_round, pages
from procurement.models import Round

EXTRA_HOSPITALS = int(os.environ.get("JICAI_SCALE_TEST_HOSPITALS", "90"))
EXTRA_MAKERS = 4

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgresql,  # query plans and counts are measured on PostgreSQL
]

# A read of the result column of the evaluation runs, wherever it is selected from.
RESULT_READ = re.compile(r'"awards_evaluationrun"\."result"|T\d+"\."result"')
NOT_IN_SUBQUERY = re.compile(r"NOT \([^()]*\bIN \(SELECT", re.IGNORECASE)
# A total over the contract lines (what the progress pages did on every load, ~5 s each
# nationally); the office's and a winner's progress pages read the maintained snapshot.
LINE_AGGREGATE = re.compile(r'SUM\(.*FROM "contracts_contractline"', re.IGNORECASE | re.DOTALL)
SNAPSHOT_PAGES = {
    ("progress by hospital", "office"),
    ("progress behind", "office"),
    ("progress by hospital", "maker01"),
}
# A count over the contracts or their lines: bounded (``common.pagination.CappedPaginator``
# counts a LIMIT subquery) on the lists that hold a national round's ~900,000 contracts.
CONTRACT_COUNT = re.compile(r'^SELECT COUNT\(\*\).*"contracts_contract(line)?"', re.DOTALL)
BOUNDED_COUNT_PAGES = {
    ("contracts", "office"),
    ("contracts", "hospital01"),
    ("contracts", "maker01"),
    ("progress lines", "office"),
}
# The office's contract-lines tab reads the lines of one page of contracts (their ids),
# never sorts or totals every line of the round.
LINES_OF_THE_PAGE = re.compile(r'"contracts_contractline"\."contract_id" IN \(\d')
# A hospital's own progress reads the lines of its own contracts by their ids (a
# subquery of its contracts let PostgreSQL join every line of the round first: ~1 s on
# the 46,000-hospital round).
OWN_LINES = LINES_OF_THE_PAGE
OWN_LINES_PAGES = {("progress", "hospital01"), ("purchases", "hospital01")}
# A party's hospital allocations are ordered by the allocation's own columns (the order of
# its index), never by a joined column, which sorts every allocation of a national winner
# (~10^5) before taking a page.
ALLOCATION_PAGE = re.compile(r'FROM "awards_hospitalallocation".*\bLIMIT\b', re.DOTALL)
ALLOCATION_ORDER = re.compile(
    r'ORDER BY "awards_hospitalallocation"\."run_id" ASC, '
    r'"awards_hospitalallocation"\."round_item_id" ASC, '
    r'"awards_hospitalallocation"\."hospital_id" ASC, '
    r'"awards_hospitalallocation"\."opened_bid_id" ASC LIMIT'
)
ALLOCATION_PAGES = {
    ("my awards", "hospital01"),
    ("my awards", "maker01"),
    ("API allocations", "hospital01"),
    ("API allocations", "maker01"),
}


def measure(round_: Round) -> dict[tuple[str, str | None], int]:
    clients: dict[str | None, Client] = {}
    counts: dict[tuple[str, str | None], int] = {}
    problems: list[str] = []
    allocation_pages_seen: set[tuple[str, str | None]] = set()
    for name, username, url in pages(round_):
        client = clients.get(username)
        if client is None:
            client = clients[username] = Client()
            if username is not None:
                client.force_login(User.objects.get(username=username))
        client.get(url)  # warm: sessions, caches, translations
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (name, username, url, response.status_code)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        counts[(name, username)] = len(queries)
        for query in queries.captured_queries:
            sql = query["sql"]
            if RESULT_READ.search(sql):
                problems.append(f"{name} ({username}) reads the result document: {sql[:300]}")
            if NOT_IN_SUBQUERY.search(sql):
                problems.append(f"{name} ({username}) anti-join as NOT IN: {sql[:300]}")
            if (name, username) in SNAPSHOT_PAGES and LINE_AGGREGATE.search(sql):
                problems.append(f"{name} ({username}) totals the contract lines: {sql[:300]}")
            if (
                (name, username) in BOUNDED_COUNT_PAGES
                and CONTRACT_COUNT.search(sql)
                and "LIMIT" not in sql
            ):
                problems.append(f"{name} ({username}) counts every contract: {sql[:300]}")
            reads_lines = 'FROM "contracts_contractline"' in sql
            if (
                (name, username) == ("progress lines", "office")
                and reads_lines
                and not LINES_OF_THE_PAGE.search(sql)
            ):
                problems.append(f"{name} ({username}) reads every contract line: {sql[:300]}")
            if (name, username) in OWN_LINES_PAGES and reads_lines and not OWN_LINES.search(sql):
                problems.append(f"{name} ({username}) reads others' lines: {sql[:300]}")
            if (
                (name, username) in ALLOCATION_PAGES
                and ALLOCATION_PAGE.search(sql)
                and not ALLOCATION_ORDER.search(sql)
            ):
                problems.append(f"{name} ({username}) sorts allocations by a join: {sql[-300:]}")
            allocation_pages_seen.update(
                {(name, username)} if ALLOCATION_PAGE.search(sql) else set()
            )
    assert not problems, "\n".join(problems)
    assert allocation_pages_seen >= ALLOCATION_PAGES, allocation_pages_seen
    return counts


def test_query_counts_per_page_do_not_grow_with_the_data() -> None:
    call_command("seed_demo", verbosity=0)
    small = measure(Round.objects.get(code="DEMO-2026-A1"))
    bigger = build_round("SCALE-2026-B", hospitals=EXTRA_HOSPITALS, makers=EXTRA_MAKERS).round
    large = measure(bigger)
    grown = {page: (small[page], large[page]) for page in small if large[page] != small[page]}
    assert not grown, f"query counts grew with the data (small, large): {grown}"


def test_boards_and_missing_hospitals_stay_bounded() -> None:
    """The province-selection boards of every item are read in the queries of one; the
    missing hospitals are an anti-join PostgreSQL can hash (not a NOT IN subplan)."""
    from awards import services
    from awards.models import ProvinceSelection
    from procurement.selectors import hospitals_not_declared

    call_command("seed_demo", verbosity=0)
    round_ = Round.objects.get(code="DEMO-2026-A1")
    selection = ProvinceSelection.objects.select_related("run").get(round=round_)
    items = list(round_.items.values_list("pk", flat=True))
    assert len(items) > 1
    with CaptureQueriesContext(connection) as one:
        services.draft_boards(selection=selection, round_item_ids=items[:1])
    with CaptureQueriesContext(connection) as every:
        boards = services.draft_boards(selection=selection, round_item_ids=items)
    assert len(every) == len(one) and set(boards) == set(items)
    for item_id in items:  # the same boards as one item at a time
        single = services.draft_board(selection=selection, round_item_id=item_id)
        assert [p.region_id for p in single.picks] == [p.region_id for p in boards[item_id].picks]
    plan = hospitals_not_declared(round_=round_).explain()
    assert "Anti Join" in plan and "SubPlan" not in plan, plan
