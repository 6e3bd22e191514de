import pytest

from conciergerie.partners import services
from conciergerie.partners.models import Organisation
from tests.partners.receiver import WebhookReceiver


@pytest.fixture(autouse=True)
def local_webhooks(settings):
    """Endpoints on 127.0.0.1 over plain HTTP, as a development machine allows."""
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def clinic(db):
    return services.create_organisation(
        name="Clinique du Parc",
        kind=Organisation.Kind.CLINIC,
        technical_email="integration@clinique-parc.fr",
        technical_name="Équipe intégration",
    )


@pytest.fixture
def laboratory(db):
    return services.create_organisation(
        name="Laboratoire Pasteur Lyon",
        kind=Organisation.Kind.LABORATORY,
        technical_email="dsi@labo-pasteur.fr",
    )


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()
