"""Demo partners: a clinic, a laboratory and an insurer, each with an API key."""

from django.conf import settings

from . import services
from .models import Organisation

#: Demo only: a known secret, so that developers can try the API at once.
DEMO_SECRET = "demo-partner-secret"  # noqa: S105

DEMO = [
    (
        "Clinique du Parc",
        Organisation.Kind.CLINIC,
        "integration@clinique-du-parc.example.fr",
        [
            "profile",
            "patients:read",
            "patients:write",
            "care-requests:read",
            "care-requests:write",
            "specialists:read",
            "appointments:read",
            "appointments:write",
            "webhooks",
        ],
    ),
    (
        "Laboratoire Biolab Lyon",
        Organisation.Kind.LABORATORY,
        "dsi@biolab-lyon.example.fr",
        ["profile", "patients:read", "documents:write", "webhooks"],
    ),
    (
        "Mutuelle Horizon",
        Organisation.Kind.INSURER,
        "api@mutuelle-horizon.example.fr",
        ["profile", "invoices:read", "claims:read", "claims:write", "webhooks"],
    ),
]


def seed(*, stdout) -> None:
    for name, kind, email, scopes in DEMO:
        organisation = Organisation.objects.filter(name=name).first()
        if organisation is None:
            organisation = services.create_organisation(
                name=name, kind=kind, technical_email=email
            )
        profile = organisation.applications.select_related("application").first()
        if profile is None:
            allowed = [scope for scope in scopes if scope in settings.API_SCOPES]
            profile, _secret = services.create_application(
                organisation=organisation, name=f"{name} API", scopes=allowed
            )
            application = profile.application
            application.client_secret = DEMO_SECRET
            application.hash_client_secret = True
            application.save()
        stdout.write(f"  {name}: client id {profile.client_id}, secret {DEMO_SECRET}")
