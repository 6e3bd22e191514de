import pytest
from oauth2_provider.models import AccessToken


@pytest.fixture
def token_for(partner_client):
    """Obtain a token through the real token endpoint (client credentials)."""

    def obtain(client, scope: str) -> str:
        response = client.post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": scope},
            HTTP_AUTHORIZATION=_basic(partner_client.client_id, "partner-secret"),
        )
        assert response.status_code == 200, response.content
        return response.json()["access_token"]

    return obtain


def _basic(client_id: str, secret: str) -> str:
    import base64

    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def test_me_without_a_token_is_401_with_the_error_shape(api_client, db):
    response = api_client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"
    assert set(response.json()) == {"code", "detail"}


def test_client_credentials_token_with_the_scope_reads_me(
    api_client, client, token_for, partner_client
):
    token = token_for(client, "profile specialists:read")

    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    body = response.json()
    assert body["roles"] == ["partner"]
    assert body["scopes"] == ["profile", "specialists:read"]
    stored = AccessToken.objects.get(application=partner_client)
    assert stored.user is None  # client credentials: acting as the application
    assert stored.token != token  # tokens are stored hashed, never in clear


def test_token_with_the_wrong_scope_is_403(api_client, client, token_for):
    token = token_for(client, "specialists:read")

    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_an_unknown_token_is_401(api_client, db):
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer nope")

    assert response.status_code == 401


def test_a_token_of_a_deactivated_partner_is_refused(
    api_client, partner_client, partner_token
):
    token = partner_token(partner_client, "profile")
    partner_client.user.is_active = False
    partner_client.user.save(update_fields=["is_active"])

    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token.token}")

    assert response.status_code == 401


def test_a_signed_in_patient_reads_me_through_the_session(api_client, patient_user):
    api_client.force_login(patient_user)

    response = api_client.get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["email"] == patient_user.email
    assert response.json()["roles"] == ["patient"]


def test_the_schema_is_a_valid_openapi_3_document(client, db):
    from django.core.management import call_command

    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema["paths"]
    flows = schema["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/o/token/"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_docs_page_loads_its_assets_from_our_own_static_files(client, db):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
