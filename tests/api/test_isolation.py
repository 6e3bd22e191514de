"""A second partner tries every object endpoint of the first one: 0 successes.

The endpoints come from the OpenAPI schema, so an endpoint added later is tried
too: give it the first partner's object below (OWN_OBJECTS) or, for public
directory data, list it in PUBLIC.
"""

import pytest
from django.urls import reverse

from conciergerie.partners.models import WebhookDelivery, WebhookSubscription
from patients.models import Document, Patient

METHODS = ["get", "post", "put", "patch", "delete"]
#: Directory data every partner may read: not the first partner's own.
PUBLIC = {"/api/v1/specialists/{public_id}/", "/api/v1/specialists/{public_id}/slots/"}


def own_objects(data: dict) -> dict[str, dict[str, str]]:
    """Path parameters naming the first partner's objects, per path prefix."""
    objects = {
        "/api/v1/patients/{reference}/": {"reference": data["patient"].reference},
        "/api/v1/invoices/{id}/": {"id": str(data["invoice"].public_id)},
        "/api/v1/webhooks/deliveries/{id}/": {"id": str(data["delivery"].public_id)},
        "/api/v1/webhooks/{id}/": {"id": str(data["subscription"].public_id)},
        "/api/v1/claims/{id}/documents/{document_id}/": {
            "id": str(data["claim"].public_id),
            "document_id": str(data["claim"].attachments.first().document_id),
        },
        "/api/v1/claims/{id}/": {"id": str(data["claim"].public_id)},
        "/api/v1/appointments/{public_id}/": {
            "public_id": str(data["appointment"].public_id)
        },
        "/api/v1/teleconsultations/{public_id}/": {
            "public_id": str(data["teleconsultation"].public_id)
        },
    }
    if data["care_request"] is not None:
        objects["/api/v1/care-requests/{reference}/"] = {
            "reference": data["care_request"].reference
        }
    return objects


def object_paths(client) -> list[str]:
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    return [path for path in schema["paths"] if "{" in path]


@pytest.mark.django_db
def test_a_second_partner_reaches_none_of_the_first_partners_objects(
    partner_data, make_partner, client, settings
):
    settings.API_THROTTLE_PARTNER = "100000/min"
    _other, _token, intruder = make_partner("Laboratoire Voisin", kind="laboratory")
    objects = own_objects(partner_data)
    tried = 0
    successes = []
    unknown = []

    for template in object_paths(client):
        if template in PUBLIC:
            continue
        values = next(
            (v for prefix, v in objects.items() if template.startswith(prefix)), None
        )
        if values is None:
            unknown.append(template)
            continue
        path = template.format(**values)
        for method in METHODS:
            response = getattr(intruder, method)(path, {}, format="json")
            tried += 1
            if response.status_code < 400:
                successes.append(f"{method.upper()} {path} → {response.status_code}")

    assert not unknown, f"Name the first partner's object for: {unknown}"
    assert not successes
    assert tried >= 40
    assert Patient.objects.filter(pk=partner_data["patient"].pk).exists()
    assert Document.objects.filter(pk=partner_data["document"].pk).exists()
    subscription = WebhookSubscription.objects.get(pk=partner_data["subscription"].pk)
    assert subscription.is_active
    assert not WebhookDelivery.objects.filter(redelivery_of__isnull=False).exists()


@pytest.mark.django_db
def test_a_second_partners_lists_show_none_of_the_first_partners_objects(
    partner_data, make_partner
):
    _other, _token, intruder = make_partner("Mutuelle Voisine", kind="insurer")

    patients = intruder.get("/api/v1/patients/").json()["results"]
    invoices = intruder.get("/api/v1/invoices/").json()["results"]
    webhooks = intruder.get("/api/v1/webhooks/").json()

    assert patients == invoices == webhooks == []
    first = partner_data["client"]
    assert len(first.get("/api/v1/patients/").json()["results"]) == 1
    assert len(first.get("/api/v1/invoices/").json()["results"]) == 1
    assert len(first.get("/api/v1/webhooks/").json()) == 1


@pytest.mark.django_db
def test_the_first_partner_reaches_its_own_objects(partner_data):
    client = partner_data["client"]

    for path in (
        f"/api/v1/patients/{partner_data['patient'].reference}/",
        f"/api/v1/invoices/{partner_data['invoice'].public_id}/",
        f"/api/v1/webhooks/{partner_data['subscription'].public_id}/",
    ):
        assert client.get(path).status_code == 200, path
