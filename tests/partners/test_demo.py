import base64
import io

from conciergerie.partners import demo
from conciergerie.partners.models import Organisation, PartnerApplication


def test_the_demo_partners_can_get_a_token_and_seeding_twice_adds_nothing(client, db):
    demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())

    assert Organisation.objects.count() == 3
    assert PartnerApplication.objects.count() == 3
    profile = PartnerApplication.objects.get(organisation__kind="laboratory")
    raw = f"{profile.client_id}:{demo.DEMO_SECRET}".encode()
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode(),
    )
    assert response.status_code == 200
    assert "documents:write" in response.json()["scope"]
