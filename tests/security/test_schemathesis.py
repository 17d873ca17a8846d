"""Schemathesis against the live schema: no 5xx, and every answer as the schema says.

The schema is loaded from ``/api/schema/`` through the WSGI application (the one the
server runs, every middleware included), and every operation is called with generated
requests (valid ones and invalid ones: wrong types, missing fields, odd strings) as a
hospital, a manufacturer and the office, each with its own API token. The checks fail on
any server error, an undeclared status code or content type, or a body that does not
match the declared schema.

Kept lean for the normal suite: ``EXAMPLES`` requests per operation and role (a few
minutes at most); raise ``JICAI_SCHEMATHESIS_EXAMPLES`` for a longer run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from procurement.models import Round
from tests.factories import user_of
from tests.procurement.factories import drug_item, hospital_user, make_round

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("JICAI_SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _connection_kept_across_requests() -> Iterator[None]:
    """The schema and the operations are called through the WSGI application, whose
    request signals close "old" database connections; inside the test's transaction on
    PostgreSQL that closed the test's own connection after the first request, and the
    next one (``/api/v1/allocations/``, the first operation) answered 503 "the
    connection is closed". Django's test client disconnects the same handler."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(settings) -> Iterator[dict[str, str]]:
    """One token per role, on a round open for demand (so the operations find data)."""
    # Throttles off: this run makes many requests a minute per token on purpose.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": None, "user": None, "write": None, "anon": None},
    }
    office = user_of("office")
    make_round(office=office, code="R-ST-1", items=[drug_item()], open_demand=True)
    assert Round.objects.filter(code="R-ST-1").exists()
    users = {"hospital": hospital_user("11"), "manufacturer": user_of("manufacturer")}
    users["office"] = office
    yield {role: Token.objects.create(user=user).key for role, user in users.items()}


def _exercise(operation, role: str, headers: dict[str, str], failures: list[str]) -> int:
    """Call one operation with ``EXAMPLES`` generated requests; failures are appended."""
    calls = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def call(case: schemathesis.Case) -> None:
        nonlocal calls
        calls += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as exc:  # schemathesis' failure group: kept, the run goes on
            failures.append(f"{role} {operation.label}: {str(exc)[:600]}")

    call()
    return calls


def test_the_api_answers_as_its_schema_says_for_every_role(tokens: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 15, "the schema lists the API's operations"
    failures: list[str] = []
    calls = 0
    started = time.perf_counter()
    for role, token in tokens.items():
        headers = {"Authorization": f"Token {token}", "Accept-Language": "en"}
        for operation in operations:
            calls += _exercise(operation, role, headers, failures)
    elapsed = time.perf_counter() - started
    print(f"schemathesis: {calls} requests in {elapsed:.0f} s, {len(failures)} failures")
    assert not failures, "\n\n".join(failures[:20])
