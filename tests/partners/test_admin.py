"""The partners back-office: wiring, permissions, secrets shown once, actions."""

import base64

import pytest
from oauth2_provider.models import AccessToken

from conciergerie.partners import services
from conciergerie.partners.models import (
    EventType,
    Organisation,
    PartnerApplication,
    WebhookDelivery,
    WebhookSubscription,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/partners/"


def _token(client, client_id, secret):
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {raw}",
    )


def test_a_manager_creates_an_organisation_with_its_service_account(
    staff_client, manager
):
    response = staff_client(manager).post(
        f"{ADMIN}organisation/add/",
        {
            "name": "Mutuelle Horizon",
            "kind": "insurer",
            "siret": "",
            "throttle_rate": "1200/min",
            "notes": "",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-role": "technical",
            "contacts-0-name": "DSI",
            "contacts-0-email": "dsi@horizon.fr",
            "contacts-0-phone": "",
            "applications-TOTAL_FORMS": "0",
            "applications-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["errors"]
    organisation = Organisation.objects.get(name="Mutuelle Horizon")
    assert organisation.service_user.has_role("partner")
    assert organisation.technical_emails() == ["dsi@horizon.fr"]
    assert organisation.throttle_rate == "1200/min"


def test_a_new_application_shows_its_secret_once_and_it_works(
    staff_client, manager, clinic, client
):
    response = staff_client(manager).post(
        f"{ADMIN}partnerapplication/add/",
        {
            "organisation": clinic.pk,
            "name": "DPI",
            "allowed_scopes": ["profile", "patients:read"],
        },
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    profile = PartnerApplication.objects.get()
    [row] = response.context["rows"]
    [(_id_label, client_id), (_secret_label, secret)] = row["items"]
    assert client_id == profile.client_id
    assert profile.client_id in response.content.decode()
    assert profile.application.client_secret != secret
    client.logout()
    assert _token(client, profile.client_id, secret).json()["scope"] in {
        "profile patients:read",
        "patients:read profile",
    }


def test_rotating_from_the_admin_shows_the_new_secret(
    staff_client, manager, clinic, client
):
    profile, old = services.create_application(
        organisation=clinic, name="DPI", scopes=["profile"]
    )

    response = staff_client(manager).post(
        f"{ADMIN}partnerapplication/",
        {"action": "rotate_secret", "_selected_action": [profile.pk]},
    )

    [row] = response.context["rows"]
    [_client_id, (_label, new)] = row["items"]
    client.logout()
    assert _token(client, profile.client_id, old).status_code == 401
    assert _token(client, profile.client_id, new).status_code == 200


def test_revoking_from_the_admin_kills_the_tokens(
    staff_client, manager, clinic, partner_token
):
    profile, _ = services.create_application(
        organisation=clinic, name="DPI", scopes=["profile"]
    )
    partner_token(profile.application, "profile")

    response = staff_client(manager).post(
        f"{ADMIN}partnerapplication/",
        {"action": "revoke", "_selected_action": [profile.pk]},
    )

    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.revoked_at is not None
    assert profile.revoked_by == manager
    assert not AccessToken.objects.exists()


def test_a_subscription_made_in_the_admin_shows_its_secret(
    staff_client, manager, clinic
):
    response = staff_client(manager).post(
        f"{ADMIN}webhooksubscription/add/",
        {
            "organisation": clinic.pk,
            "url": "https://hooks.clinique-parc.fr/conciergerie",
            "event_types": ["invoice.issued", "document.added"],
            "description": "",
        },
    )

    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    [row] = response.context["rows"]
    [(_label, secret)] = row["items"]
    assert secret == subscription.secret


def test_the_delivery_log_redelivers_a_failed_delivery(
    staff_client, coordinator, clinic, receiver, django_capture_on_commit_callbacks
):
    subscription, _ = services.subscribe(
        organisation=clinic, url=receiver.url, event_types=[EventType.INVOICE_ISSUED]
    )
    event = services.publish_event(
        event_type=EventType.INVOICE_ISSUED, organisations=[clinic], payload={}
    )
    delivery = event.deliveries.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=WebhookDelivery.State.FAILED
    )
    client = staff_client(coordinator)

    listing = client.get(f"{ADMIN}webhookdelivery/")
    detail = client.get(f"{ADMIN}webhookdelivery/{delivery.pk}/change/")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{ADMIN}webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )

    assert listing.status_code == detail.status_code == 200
    assert str(event.id) in listing.content.decode()
    assert response.status_code == 302
    assert subscription.deliveries.count() == 2
    assert len(receiver.requests) == 1


def test_a_medical_adviser_does_not_see_partners(staff_client, adviser):
    response = staff_client(adviser).get(f"{ADMIN}organisation/")

    assert response.status_code == 403


def test_a_coordinator_reads_but_cannot_create_keys(staff_client, coordinator):
    client = staff_client(coordinator)

    assert client.get(f"{ADMIN}organisation/").status_code == 200
    assert client.get(f"{ADMIN}partnerapplication/add/").status_code == 403
