"""Fuzz the whole /api/v1/ schema with a partner token holding every scope.

schemathesis generates requests from the OpenAPI schema (valid ones, and invalid
ones that the API must refuse cleanly) and runs them through the WSGI
application; every response must be no server error and must conform to the
schema: documented status code, content type, headers and body.

`make test` sends a few hundred requests; `make proof` (`--proof`) at least
5,000, e.g.
`.venv/bin/pytest -q -m proof --proof tests/api/test_schemathesis.py -s`.
"""

import functools
import math
import uuid
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

APPLICATION = get_wsgi_application()
# Loaded at import: schemathesis' pytest fixture loader breaks on pytest 9.
SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", APPLICATION)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOUNDED_REQUESTS = 200
PROOF_REQUESTS = 5000


def _operations():
    return [result.ok() for result in SCHEMA.get_all_operations()]


def known_ids(data: dict) -> dict[str, dict[str, str]]:
    """Real ids of the partner's own objects, per path template prefix, so that
    a share of the requests reaches existing objects instead of 404s."""
    return {
        "/api/v1/patients/{reference}/": {"reference": data["patient"].reference},
        "/api/v1/invoices/{id}/": {"id": str(data["invoice"].public_id)},
        "/api/v1/specialists/{public_id}/": {
            "public_id": str(data["practitioner"].public_id)
        },
        "/api/v1/webhooks/deliveries/{id}/": {"id": str(data["delivery"].public_id)},
        "/api/v1/webhooks/{id}/": {"id": str(data["subscription"].public_id)},
        "/api/v1/claims/{id}/": {"id": str(data["claim"].public_id)},
        "/api/v1/appointments/{public_id}/": {
            "public_id": str(data["appointment"].public_id)
        },
        "/api/v1/teleconsultations/{public_id}/": {
            "public_id": str(data["teleconsultation"].public_id)
        },
    }


def _known_for(path: str, known: dict[str, dict[str, str]]) -> dict[str, str] | None:
    for prefix, values in known.items():
        if path.startswith(prefix):
            return values
    return None


def _check_case(case, *, token: str, fresh_key: bool, statuses: Counter) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    if fresh_key and case.method.upper() == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    response = case.call(headers=headers)
    statuses[response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


def _runner(strategy, *, max_examples: int, check):
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        check(case)

    return run


def fuzz(data: dict, target: int) -> tuple[Counter, list[str]]:
    """Run about `target` generated requests; return status counts and failures.

    Three passes per operation: valid requests, invalid ones (which must be
    refused with a documented 4xx), and valid ones aimed at the partner's own
    objects. Valid POSTs carry a fresh Idempotency-Key, so that they act.
    """
    operations = _operations()
    known = known_ids(data)
    passes = []
    for operation in operations:
        passes.append((operation, GenerationMode.POSITIVE, None))
        passes.append((operation, GenerationMode.NEGATIVE, None))
        own = _known_for(operation.path, known)
        if own:
            passes.append((operation, GenerationMode.POSITIVE, own))
    # Operations with few inputs run out of distinct examples early: ask more.
    per_run = math.ceil(1.5 * target / len(passes))
    statuses: Counter = Counter()
    failures: list[str] = []
    for operation, mode, values in passes:
        strategy = (
            operation.as_strategy(generation_mode=mode, path_parameters=values)
            if values
            else operation.as_strategy(generation_mode=mode)
        )

        check = functools.partial(
            _check_case,
            token=data["token"],
            fresh_key=mode is GenerationMode.POSITIVE,
            statuses=statuses,
        )
        run = _runner(strategy, max_examples=per_run, check=check)
        try:
            run()
        except Unsatisfiable:
            continue  # nothing to make invalid: no parameters, no body
        except (Exception, BaseExceptionGroup) as error:
            # Collected, so that one run reports every failing operation.
            label = f"{operation.label} [{mode.value}{' own' if values else ''}]"
            failures.append(f"{label}: {error!r}")
    return statuses, failures


@pytest.fixture
def generous_limits(settings):
    settings.API_THROTTLE_PARTNER = "1000000/min"
    settings.WEBHOOK_REQUIRE_HTTPS = True


@pytest.fixture
def wsgi_in_test_transaction():
    """Keep the test's connection open across WSGI requests, as Django's test
    client does: the handler would close it at the end of each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_covers_every_partner_route():
    labels = {operation.label for operation in _operations()}

    assert "POST /api/v1/patients/" in labels
    assert "GET /api/v1/specialists/{public_id}/slots/" in labels
    assert "POST /api/v1/webhooks/" in labels
    assert len(labels) >= 20


@pytest.mark.django_db
def test_fuzzing_the_api_finds_no_server_error_nor_schema_violation(
    partner_data, generous_limits, wsgi_in_test_transaction, proof_scale
):
    target = proof_scale(BOUNDED_REQUESTS, PROOF_REQUESTS)

    statuses, failures = fuzz(partner_data, target)

    total = sum(statuses.values())
    print(
        f"\nschemathesis: {total} requests, statuses {dict(sorted(statuses.items()))}"
    )
    assert not failures, "\n\n".join(failures)
    assert total >= target
    assert not [code for code in statuses if code >= 500]
    assert statuses[200] + statuses[201] > 0


@pytest.mark.proof
@pytest.mark.django_db
def test_fuzzing_the_api_with_5000_requests(
    partner_data, generous_limits, wsgi_in_test_transaction
):
    statuses, failures = fuzz(partner_data, PROOF_REQUESTS)

    total = sum(statuses.values())
    print(
        f"\nschemathesis: {total} requests, statuses {dict(sorted(statuses.items()))}"
    )
    assert not failures, "\n\n".join(failures)
    assert total >= PROOF_REQUESTS
