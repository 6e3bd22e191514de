"""docs/api.md: its Python snippets run, in order, against a live server; and every
operation of the OpenAPI schema has a description and an example."""

import re
import threading
import time
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from conciergerie.partners import services, signing

DOC = Path(django_settings.BASE_DIR) / "docs" / "api.md"
SNIPPET = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_snippets() -> list[str]:
    return SNIPPET.findall(DOC.read_text())


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        return


@pytest.fixture
def directory(db):
    from tests.specialists.factories import (
        OpeningHoursFactory,
        PracticePlaceFactory,
        PractitionerFactory,
    )

    practitioner = PractitionerFactory(verified=True, specialties=["cardiology"])
    place = PracticePlaceFactory(practitioner=practitioner)
    for weekday in range(7):
        OpeningHoursFactory(practitioner=practitioner, place=place, weekday=weekday)
    return practitioner


@pytest.mark.django_db(transaction=True)
def test_the_quick_start_snippets_run_against_a_live_server(
    live_server, settings, monkeypatch, directory
):
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    organisation = services.create_organisation(name="Clinique", kind="clinic")
    profile, secret = services.create_application(
        organisation=organisation,
        name="Quick start",
        scopes=[
            "profile",
            "specialists:read",
            "patients:write",
            "appointments:read",
            "appointments:write",
            "webhooks",
        ],
    )
    namespace: dict = {}
    receiver = make_server(
        "127.0.0.1",
        0,
        lambda environ, start: namespace["webhook_app"](environ, start),
        handler_class=QuietHandler,
    )
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    monkeypatch.setenv("CONCIERGERIE_URL", live_server.url)
    monkeypatch.setenv("CONCIERGERIE_CLIENT_ID", profile.client_id)
    monkeypatch.setenv("CONCIERGERIE_CLIENT_SECRET", secret)
    monkeypatch.setenv(
        "WEBHOOK_URL",
        f"http://127.0.0.1:{receiver.server_address[1]}/conciergerie/webhooks",
    )
    snippets = python_snippets()

    try:
        for number, snippet in enumerate(snippets, start=1):
            exec(compile(snippet, f"docs/api.md, snippet {number}", "exec"), namespace)  # noqa: S102
    finally:
        receiver.shutdown()
        receiver.server_close()

    assert len(snippets) >= 7
    assert namespace["practitioner"]["id"] == str(directory.public_id)
    assert namespace["slots"].json()["slots"]
    assert namespace["free"]["total"] > 0
    assert namespace["patient_reference"].startswith("P-")
    assert namespace["appointment"]["state"] == "booked"
    assert namespace["fhir_appointment"]["id"] == namespace["appointment"]["id"]
    assert len(namespace["seen_event_ids"]) == 1
    assert [d["state"] for d in namespace["deliveries"]] == ["succeeded"]


def test_the_documented_signature_check_agrees_with_signing_py():
    namespace: dict = {}
    [receiver_snippet] = [s for s in python_snippets() if "def webhook_app" in s]
    exec(receiver_snippet, namespace)  # noqa: S102
    check = namespace["signature_is_valid"]
    body = b'{"id":"e1","type":"ping","created_at":"2026-03-02T08:00:00Z","data":{}}'
    now = time.time()
    header = signing.sign(body=body, secrets=["whsec_a", "whsec_b"], timestamp=int(now))

    assert check(body, header, "whsec_a", now)
    assert check(body, header, "whsec_b", now)
    assert not check(body + b" ", header, "whsec_a", now)
    assert not check(body, header, "whsec_c", now)
    assert not check(body, header, "whsec_a", now + 301)
    assert not check(body, "t=1,v1", "whsec_a", now)


@pytest.mark.django_db
def test_every_operation_has_a_description_and_an_example(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    missing = []

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not operation.get("description") or not _has_example(operation):
                missing.append(f"{method.upper()} {path}")

    assert not missing, "Add a description and an example to: " + ", ".join(missing)


def _has_example(operation: dict) -> bool:
    """An example of the success answer (JSON) or of the request body.

    The kernel's error examples (401, 429…) do not count. A success without a
    JSON body (204, a PDF) needs none.
    """
    successes = {
        status: response
        for status, response in operation.get("responses", {}).items()
        if status.startswith("2")
    }
    json_successes = [
        content
        for response in successes.values()
        for media, content in response.get("content", {}).items()
        if "json" in media
    ]
    request = list(operation.get("requestBody", {}).get("content", {}).values())
    examples = [
        content
        for content in json_successes + request
        if "example" in content or "examples" in content
    ]
    return bool(examples) or not json_successes
