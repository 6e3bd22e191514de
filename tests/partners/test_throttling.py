"""Rate limits per partner organisation: 429, Retry-After, the error shape."""

import pytest

from conciergerie.partners import services


@pytest.fixture
def tokens(clinic, partner_token):
    """Two applications of the same organisation."""

    def token(name):
        profile, _ = services.create_application(
            organisation=clinic, name=name, scopes=["profile"]
        )
        return partner_token(profile.application, "profile").token

    return token("DPI"), token("Portail")


def me(api_client, token):
    return api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_over_the_rate_the_api_answers_429_with_retry_after(
    api_client, settings, tokens
):
    settings.API_THROTTLE_PARTNER = "3/min"
    first, _second = tokens

    answers = [me(api_client, first) for _ in range(4)]

    assert [response.status_code for response in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json() == {"code": "throttled", "detail": refused.json()["detail"]}


def test_the_applications_of_one_organisation_share_its_rate(
    api_client, settings, tokens
):
    settings.API_THROTTLE_PARTNER = "2/min"
    first, second = tokens

    assert me(api_client, first).status_code == 200
    assert me(api_client, second).status_code == 200
    assert me(api_client, second).status_code == 429


def test_another_organisation_has_its_own_budget(
    api_client, settings, tokens, laboratory, partner_token
):
    settings.API_THROTTLE_PARTNER = "1/min"
    first, _ = tokens
    profile, _ = services.create_application(
        organisation=laboratory, name="LIMS", scopes=["profile"]
    )
    lab_token = partner_token(profile.application, "profile").token

    assert me(api_client, first).status_code == 200
    assert me(api_client, first).status_code == 429
    assert me(api_client, lab_token).status_code == 200


def test_an_organisation_may_have_its_own_rate(api_client, settings, tokens, clinic):
    settings.API_THROTTLE_PARTNER = "1/min"
    clinic.throttle_rate = "3/min"
    clinic.save(update_fields=["throttle_rate"])
    first, _ = tokens

    codes = [me(api_client, first).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


def test_signed_in_users_are_not_partner_throttled(api_client, settings, patient_user):
    settings.API_THROTTLE_PARTNER = "1/min"
    api_client.force_login(patient_user)

    codes = [api_client.get("/api/v1/me/").status_code for _ in range(3)]

    assert codes == [200, 200, 200]
