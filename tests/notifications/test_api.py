"""The SMS provider's delivery reports, over real HTTP through the API stack."""

import json

import pytest

from conciergerie.notifications.api import sign
from conciergerie.notifications.models import Message
from tests.notifications.factories import MessageFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/sms-status/"
SECRET = "callback-secret"


@pytest.fixture(autouse=True)
def callback_secret(settings):
    settings.SMS_CALLBACK_SECRET = SECRET


@pytest.fixture
def sent():
    return MessageFactory(state=Message.State.SENT, provider_id="sms-77")


def report(api_client, payload, *, secret=SECRET, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"HTTP_X_SIGNATURE": sign(body, secret)} if secret else {}
    return api_client.generic(
        "POST", URL, body, content_type="application/json", **headers
    )


def test_a_signed_delivered_report_marks_the_message_delivered(api_client, sent):
    response = report(api_client, {"id": "sms-77", "status": "delivered"})

    sent.refresh_from_db()
    assert response.status_code == 200
    assert response.json() == {"id": "sms-77", "state": "delivered"}
    assert sent.state == Message.State.DELIVERED


def test_a_repeated_report_is_harmless(api_client, sent):
    report(api_client, {"id": "sms-77", "status": "delivered"})

    response = report(api_client, {"id": "sms-77", "status": "delivered"})

    assert response.status_code == 200
    assert response.json()["state"] == "delivered"


def test_an_undelivered_report_fails_the_message(api_client, sent):
    response = report(
        api_client, {"id": "sms-77", "status": "undelivered", "error": "absent"}
    )

    sent.refresh_from_db()
    assert response.status_code == 200
    assert sent.state == Message.State.FAILED
    assert sent.error_code == "undelivered"
    assert sent.last_error == "absent"


def test_an_interim_status_changes_nothing(api_client, sent):
    response = report(api_client, {"id": "sms-77", "status": "buffered"})

    sent.refresh_from_db()
    assert response.status_code == 200
    assert sent.state == Message.State.SENT


def test_an_unknown_provider_id_is_404(api_client, sent):
    response = report(api_client, {"id": "sms-404", "status": "delivered"})

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_message"


def test_an_email_id_is_not_reachable_through_the_sms_report(api_client):
    MessageFactory(channel="email", state=Message.State.SENT, provider_id="<m@x>")

    response = report(api_client, {"id": "<m@x>", "status": "delivered"})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"status": "delivered"}, "id", "required"),
        ({"id": "sms-77", "status": "exploded"}, "status", "invalid_choice"),
        ({"id": "sms-77"}, "status", "required"),
    ],
)
def test_bad_input_is_400_with_field_errors(api_client, sent, payload, field, code):
    response = report(api_client, payload)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"][field][0]["code"] == code


def test_a_body_that_is_not_json_is_400(api_client, sent):
    response = report(api_client, None, raw=b"{not json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize("secret", ["another-secret", None])
def test_a_report_without_the_right_signature_is_refused(api_client, sent, secret):
    response = report(
        api_client, {"id": "sms-77", "status": "delivered"}, secret=secret
    )

    sent.refresh_from_db()
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert sent.state == Message.State.SENT


def test_without_a_configured_secret_every_report_is_refused(
    api_client, sent, settings
):
    settings.SMS_CALLBACK_SECRET = ""

    response = report(api_client, {"id": "sms-77", "status": "delivered"}, secret="")

    assert response.status_code == 403


def test_a_signature_covers_the_exact_bytes(api_client, sent):
    body = json.dumps({"id": "sms-77", "status": "delivered"}).encode()
    tampered = body.replace(b"delivered", b"failed\x20\x20\x20")

    response = api_client.generic(
        "POST",
        URL,
        tampered,
        content_type="application/json",
        HTTP_X_SIGNATURE=sign(body, SECRET),
    )

    assert response.status_code == 403


def test_the_callback_is_in_the_api_schema(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"][URL]["post"]
    assert operation["operationId"] == "notifications_sms_status"
    assert "security" not in operation  # signed by the provider, not OAuth
    assert list(operation["requestBody"]["content"]) == ["application/json"]
