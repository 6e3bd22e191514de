"""Idempotency-Key on the POSTs of the API, through real endpoints."""

import json
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from conciergerie.partners import idempotency, services
from conciergerie.partners.models import Contact, IdempotentRequest
from patients.models import Document, Patient
from tests.patients.factories import PDF_BYTES, PatientFactory

REFERRAL = {
    "last_name": "Girard",
    "first_names": "Inès",
    "birth_date": "1995-10-04",
    "sex": "female",
    "email": "ines.girard@example.fr",
    "health_data_consent_collected": True,
}


@pytest.fixture
def issue_token(partner_token):
    def issue(organisation, scopes="profile patients:read patients:write"):
        profile, _secret = services.create_application(
            organisation=organisation, name="App", scopes=scopes.split()
        )
        token = partner_token(profile.application, scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return client

    return issue


def refer(client, key, body=None, **extra):
    return client.post(
        "/api/v1/patients/",
        data=json.dumps(body or REFERRAL),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **extra,
    )


def test_the_same_key_and_body_return_the_first_response_and_act_once(
    clinic, issue_token
):
    client = issue_token(clinic)

    first = refer(client, "referral-0001")
    again = refer(client, "referral-0001")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Patient.objects.count() == 1


def test_key_order_and_spacing_of_a_json_body_do_not_matter(clinic, issue_token):
    client = issue_token(clinic)
    reordered = json.dumps(dict(reversed(list(REFERRAL.items()))), indent=2)

    refer(client, "k-1")
    again = client.post(
        "/api/v1/patients/",
        data=reordered,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_422(clinic, issue_token):
    client = issue_token(clinic)
    refer(client, "k-2")

    other = refer(client, "k-2", {**REFERRAL, "first_names": "Inès Marie"})

    assert other.status_code == 422
    assert other.json() == {
        "code": "idempotency_key_reused",
        "detail": other.json()["detail"],
    }
    assert Patient.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_422(clinic, issue_token):
    client = issue_token(clinic, "profile patients:write webhooks")
    refer(client, "k-3")

    other = client.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/h", "event_types": ["invoice.issued"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )

    assert other.status_code == 422


def test_keys_belong_to_one_partner(clinic, laboratory, issue_token):
    refer(issue_token(clinic), "shared-key")

    other = refer(issue_token(laboratory), "shared-key")

    assert other.status_code == 201
    assert not other.has_header("Idempotent-Replayed")
    assert Patient.objects.count() == 2


def test_a_validation_error_is_kept_like_any_final_answer(clinic, issue_token):
    client = issue_token(clinic)
    invalid = {**REFERRAL, "birth_date": "tomorrow"}

    first = refer(client, "k-4", invalid)
    again = refer(client, "k-4", invalid)

    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["fields"]["birth_date"][0]["code"] == "invalid"


def test_an_invalid_key_is_refused_in_the_error_shape(clinic, issue_token):
    client = issue_token(clinic)

    response = refer(client, "x" * 256)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Patient.objects.exists()


def test_without_a_key_nothing_is_kept(clinic, issue_token):
    refer_without_key = issue_token(clinic).post(
        "/api/v1/patients/", REFERRAL, format="json"
    )

    assert refer_without_key.status_code == 201
    assert not IdempotentRequest.objects.exists()


def test_an_unauthenticated_post_gets_its_401_untouched(db):
    response = refer(APIClient(), "k-5")

    assert response.status_code == 401
    assert not IdempotentRequest.objects.exists()


def test_an_upload_sent_again_with_a_new_multipart_boundary_is_replayed(
    clinic, issue_token
):
    client = issue_token(clinic, "documents:write")
    patient = PatientFactory(referred_by=clinic.service_user, consented=True)

    def upload(boundary):
        from django.test.client import encode_multipart

        body = encode_multipart(
            boundary,
            {
                "file": SimpleUploadedFile("nfs.pdf", PDF_BYTES, "application/pdf"),
                "kind": "results",
            },
        )
        return client.generic(
            "POST",
            f"/api/v1/patients/{patient.reference}/documents/",
            body,
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first = upload("boundary-one")
    again = upload("boundary-two")

    assert first.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Document.objects.count() == 1


def test_an_expired_key_runs_the_request_again(clinic, issue_token):
    client = issue_token(clinic, "profile webhooks")
    body = {"url": "http://127.0.0.1:9/h", "event_types": ["invoice.issued"]}
    client.post("/api/v1/webhooks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    IdempotentRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    again = client.post(
        "/api/v1/webhooks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-6"
    )

    assert again.status_code == 201
    assert not again.has_header("Idempotent-Replayed")
    assert clinic.webhook_subscriptions.count() == 2


def test_kept_responses_are_purged_after_24_hours(clinic, issue_token):
    refer(issue_token(clinic), "k-7")
    assert IdempotentRequest.objects.get().expires_at > timezone.now() + timedelta(
        hours=23
    )

    purged = idempotency.purge_expired(now=timezone.now() + timedelta(hours=25))

    assert purged == 1
    assert not IdempotentRequest.objects.exists()


@pytest.mark.urls("tests.partners.urls_idempotency")
def test_a_server_error_is_rolled_back_and_not_kept(clinic, issue_token):
    client = issue_token(clinic, "profile")
    client.raise_request_exception = False

    first = client.post("/api/v1/test/crash/", {}, HTTP_IDEMPOTENCY_KEY="k-8")
    again = client.post("/api/v1/test/crash/", {}, HTTP_IDEMPOTENCY_KEY="k-8")

    assert first.status_code == again.status_code == 500
    assert not again.has_header("Idempotent-Replayed")
    assert not Contact.objects.filter(email="crash@example.fr").exists()
    assert not IdempotentRequest.objects.exists()


@pytest.mark.urls("tests.partners.urls_idempotency")
def test_a_claim_left_by_a_dead_request_is_taken_over(clinic, issue_token, settings):
    from tests.partners import urls_idempotency

    client = issue_token(clinic, "profile")
    IdempotentRequest.objects.create(
        user=clinic.service_user,
        key="k-9",
        fingerprint=_fingerprint_of_slow_post(),
        method="POST",
        path="/api/v1/test/slow/",
        state=IdempotentRequest.State.PROCESSING,
        locked_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS),
        expires_at=timezone.now() + timedelta(hours=23),
    )
    urls_idempotency.release.set()

    response = client.post("/api/v1/test/slow/", HTTP_IDEMPOTENCY_KEY="k-9")

    assert response.status_code == 201
    assert IdempotentRequest.objects.get().state == "completed"


def _fingerprint_of_slow_post() -> str:
    from rest_framework.test import APIRequestFactory

    request = APIRequestFactory().post("/api/v1/test/slow/")
    return idempotency.fingerprint(request)


@pytest.mark.urls("tests.partners.urls_idempotency")
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_gets_409_until_the_first_finishes(issue_token):
    from tests.partners import urls_idempotency

    clinic = services.create_organisation(name="Clinique", kind="clinic")
    client = issue_token(clinic, "profile")
    urls_idempotency.release.clear()
    urls_idempotency.entered.clear()
    results = {}

    def first_request():
        results["first"] = client.post(
            "/api/v1/test/slow/", HTTP_IDEMPOTENCY_KEY="k-10"
        )

    worker = threading.Thread(target=first_request)
    worker.start()
    assert urls_idempotency.entered.wait(timeout=5)

    concurrent = client.post("/api/v1/test/slow/", HTTP_IDEMPOTENCY_KEY="k-10")
    urls_idempotency.release.set()
    worker.join(timeout=10)
    after = client.post("/api/v1/test/slow/", HTTP_IDEMPOTENCY_KEY="k-10")

    assert concurrent.status_code == 409
    assert concurrent.json()["code"] == "idempotency_key_in_use"
    assert concurrent["Retry-After"] == "1"
    assert results["first"].status_code == 201
    assert after.status_code == 201
    assert after["Idempotent-Replayed"] == "true"
