"""The webhook subscriptions API: a partner manages its own, nobody else's."""

import pytest
from rest_framework.test import APIClient

from conciergerie.partners import services
from conciergerie.partners.models import EventType, WebhookDelivery


@pytest.fixture
def client_for(partner_token):
    def make(organisation, scopes="webhooks"):
        profile, _ = services.create_application(
            organisation=organisation, name="App", scopes=scopes.split()
        )
        client = APIClient()
        token = partner_token(profile.application, scopes)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return client

    return make


def test_a_partner_subscribes_and_gets_the_secret_once(clinic, client_for, receiver):
    client = client_for(clinic)

    created = client.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "event_types": ["invoice.issued", "document.added"]},
        format="json",
    )
    listed = client.get("/api/v1/webhooks/")
    read = client.get(f"/api/v1/webhooks/{created.json()['id']}/")

    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    assert created.json()["event_types"] == ["document.added", "invoice.issued"]
    assert created["Location"] == f"/api/v1/webhooks/{created.json()['id']}/"
    assert [row["id"] for row in listed.json()] == [created.json()["id"]]
    assert "secret" not in read.json()
    assert "secret" not in listed.json()[0]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"url": "not a url", "event_types": ["invoice.issued"]}, "url", "invalid"),
        (
            {"url": "https://h.example/x", "event_types": []},
            "event_types",
            "min_length",
        ),
        (
            {"url": "https://h.example/x", "event_types": ["ping"]},
            "event_types",
            "invalid_choice",
        ),
    ],
)
def test_bad_subscriptions_are_400_with_field_errors(
    clinic, client_for, body, field, code
):
    response = client_for(clinic).post("/api/v1/webhooks/", body, format="json")

    assert response.status_code == 400
    assert code in _codes(response.json()["fields"][field])


def _codes(errors) -> set[str]:
    """Error codes of a field, items of a list field included."""
    if isinstance(errors, dict):
        return {code for value in errors.values() for code in _codes(value)}
    return {error["code"] for error in errors}


def test_changing_rotating_testing_and_deleting_a_subscription(
    clinic, client_for, receiver, django_capture_on_commit_callbacks
):
    client = client_for(clinic)
    created = client.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "event_types": ["invoice.issued"]},
        format="json",
    ).json()
    base = f"/api/v1/webhooks/{created['id']}/"

    changed = client.patch(base, {"event_types": ["claim.updated"]}, format="json")
    rotated = client.post(f"{base}rotate-secret/")
    with django_capture_on_commit_callbacks(execute=True):
        tested = client.post(f"{base}test/")
    deliveries = client.get(f"{base}deliveries/")
    deleted = client.delete(base)

    assert changed.json()["event_types"] == ["claim.updated"]
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_valid_until"] is not None
    assert tested.status_code == 202
    assert len(receiver.requests) == 1
    assert [d["state"] for d in deliveries.json()["results"]] == ["succeeded"]
    assert deleted.status_code == 204
    assert client.get(base).status_code == 404


def test_a_partner_redelivers_and_re_enables(
    clinic, client_for, receiver, django_capture_on_commit_callbacks
):
    client = client_for(clinic)
    subscription, _ = services.subscribe(
        organisation=clinic, url=receiver.url, event_types=[EventType.INVOICE_ISSUED]
    )
    with django_capture_on_commit_callbacks(execute=True):
        event = services.publish_event(
            event_type=EventType.INVOICE_ISSUED, organisations=[clinic], payload={}
        )
    delivery = event.deliveries.get()
    services.disable_subscription(subscription=subscription, cause="x", notify=False)

    refused = client.post(
        f"/api/v1/webhooks/deliveries/{delivery.public_id}/redeliver/"
    )
    enabled = client.post(f"/api/v1/webhooks/{subscription.public_id}/enable/")
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(
            f"/api/v1/webhooks/deliveries/{delivery.public_id}/redeliver/"
        )

    assert refused.status_code == 400
    assert refused.json()["code"] == "disabled"
    assert enabled.json()["is_active"] is True
    assert again.status_code == 202
    assert WebhookDelivery.objects.filter(redelivery_of=delivery).exists()
    assert len(receiver.requests) == 2


def test_another_partners_subscription_is_404(clinic, laboratory, client_for):
    subscription, _ = services.subscribe(
        organisation=clinic,
        url="https://hooks.example/x",
        event_types=[EventType.INVOICE_ISSUED],
    )
    intruder = client_for(laboratory)

    for method in ("get", "patch", "delete"):
        response = getattr(intruder, method)(
            f"/api/v1/webhooks/{subscription.public_id}/", {}, format="json"
        )
        assert response.status_code == 404
    assert intruder.get("/api/v1/webhooks/").json() == []


def test_a_patient_has_no_webhooks(api_client, patient_user):
    api_client.force_login(patient_user)

    response = api_client.get("/api/v1/webhooks/")

    assert response.status_code == 403
    assert response.json()["code"] == "not_a_partner"


def test_a_token_without_the_webhooks_scope_is_403(clinic, client_for):
    response = client_for(clinic, "profile").get("/api/v1/webhooks/")

    assert response.status_code == 403
