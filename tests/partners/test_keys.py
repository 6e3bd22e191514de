"""Applications, allowed scopes, rotation and revocation at the real token endpoint."""

import base64

import pytest
from django.core.exceptions import ValidationError
from oauth2_provider.models import AccessToken

from conciergerie.accounts.roles import Role
from conciergerie.partners import services
from conciergerie.partners.models import PartnerApplication
from tests.factories import ApplicationFactory


def _basic(client_id: str, secret: str) -> str:
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def token_response(client, client_id: str, secret: str, scope: str | None = None):
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return client.post("/o/token/", data, HTTP_AUTHORIZATION=_basic(client_id, secret))


@pytest.fixture
def app_and_secret(clinic):
    return services.create_application(
        organisation=clinic,
        name="DPI Clinique du Parc",
        scopes=["profile", "patients:read", "patients:write"],
    )


def test_a_new_application_acts_as_its_organisations_service_account(
    clinic, app_and_secret
):
    profile, _secret = app_and_secret

    assert profile.application.user == clinic.service_user
    assert clinic.service_user.has_role(Role.PARTNER)
    assert not clinic.service_user.has_usable_password()
    assert list(services.partner_users(clinic)) == [clinic.service_user]
    assert services.organisation_of(clinic.service_user) == clinic


def test_the_secret_is_stored_hashed(app_and_secret):
    profile, secret = app_and_secret

    profile.application.refresh_from_db()
    assert profile.application.client_secret != secret


def test_a_token_may_carry_the_allowed_scopes(client, app_and_secret):
    profile, secret = app_and_secret

    response = token_response(client, profile.client_id, secret, "patients:read")

    assert response.status_code == 200
    assert response.json()["scope"] == "patients:read"


def test_a_token_asking_for_more_than_allowed_is_refused(client, app_and_secret):
    profile, secret = app_and_secret

    response = token_response(
        client, profile.client_id, secret, "patients:read invoices:read"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()


def test_asking_for_no_scope_gives_every_allowed_scope(client, app_and_secret):
    profile, secret = app_and_secret

    response = token_response(client, profile.client_id, secret)

    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {
        "profile",
        "patients:read",
        "patients:write",
    }


def test_a_bare_oauth_client_gets_the_default_scope_only(client, db):
    bare = ApplicationFactory(partner_profile=False)

    refused = token_response(client, bare.client_id, "partner-secret", "patients:read")
    allowed = token_response(client, bare.client_id, "partner-secret", "profile")

    assert refused.status_code == 400
    assert allowed.status_code == 200


def test_after_rotation_only_the_new_secret_works(client, app_and_secret):
    profile, old_secret = app_and_secret

    new_secret = services.rotate_application_secret(profile=profile)

    assert new_secret != old_secret
    assert token_response(client, profile.client_id, old_secret).status_code == 401
    assert token_response(client, profile.client_id, new_secret).status_code == 200
    profile.refresh_from_db()
    assert profile.secret_rotated_at is not None


def test_revoking_deletes_tokens_and_refuses_new_ones(
    client, api_client, app_and_secret
):
    profile, secret = app_and_secret
    token = token_response(client, profile.client_id, secret).json()["access_token"]

    services.revoke_application(profile=profile)

    assert not AccessToken.objects.filter(application=profile.application).exists()
    me = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 401
    again = token_response(client, profile.client_id, secret)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"
    with pytest.raises(ValidationError) as refused:
        services.rotate_application_secret(profile=profile)
    assert refused.value.code == "revoked"


def test_narrowing_scopes_revokes_the_tokens_beyond_them(client, app_and_secret):
    profile, secret = app_and_secret
    token_response(client, profile.client_id, secret, "patients:read")
    token_response(client, profile.client_id, secret, "patients:write")

    services.set_allowed_scopes(profile=profile, scopes=["profile", "patients:read"])

    kept = AccessToken.objects.filter(application=profile.application)
    assert [token.scope for token in kept] == ["patients:read"]


def test_an_unknown_scope_cannot_be_allowed(app_and_secret):
    profile, _secret = app_and_secret

    with pytest.raises(ValidationError) as error:
        services.set_allowed_scopes(profile=profile, scopes=["root"])

    assert error.value.code == "unknown_scope"


def test_a_suspended_organisation_loses_its_tokens_and_access(
    client, clinic, app_and_secret
):
    profile, secret = app_and_secret
    token_response(client, profile.client_id, secret)

    services.set_organisation_active(organisation=clinic, active=False)

    assert not AccessToken.objects.exists()
    assert token_response(client, profile.client_id, secret).status_code == 401
    services.set_organisation_active(organisation=clinic, active=True)
    assert token_response(client, profile.client_id, secret).status_code == 200


def test_two_applications_of_one_organisation_see_the_same_referrals(
    api_client, clinic, partner_token
):
    from tests.patients.factories import PatientFactory

    first, _ = services.create_application(
        organisation=clinic, name="DPI", scopes=["patients:read"]
    )
    second, _ = services.create_application(
        organisation=clinic, name="Portail", scopes=["patients:read"]
    )
    patient = PatientFactory(referred_by=first.application.user, consented=True)
    token = partner_token(second.application, "patients:read")

    response = api_client.get(
        f"/api/v1/patients/{patient.reference}/",
        HTTP_AUTHORIZATION=f"Bearer {token.token}",
    )

    assert response.status_code == 200
    assert PartnerApplication.objects.filter(organisation=clinic).count() == 2


def test_a_call_reads_its_token_and_the_acting_owner_in_one_query(
    client, app_and_secret
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profile, secret = app_and_secret
    issued = token_response(client, profile.application.client_id, secret)
    bearer = f"Bearer {issued.json()['access_token']}"

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=bearer)

    assert response.status_code == 200
    reads = [
        query["sql"]
        for query in captured
        if "oauth2_provider_accesstoken" in query["sql"]
        or 'FROM "accounts_user"' in query["sql"]
    ]
    assert len(reads) == 1
    assert '"accounts_user"' in reads[0]
