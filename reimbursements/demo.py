"""Demo data: the reference tariffs, and a few procedures for the concierge team."""

import datetime as dt

from django.utils import timezone

from conciergerie.accounts.models import User

from . import services
from .models import AdministrativeProcedure
from .tariffs import load_reference_data

DEMO_PROCEDURES = [
    (
        AdministrativeProcedure.Kind.PRIOR_APPROVAL,
        "Entente préalable : séances de kinésithérapie au-delà du référentiel",
        "P-DEMO01",
        7,
    ),
    (
        AdministrativeProcedure.Kind.ALD,
        "Protocole de soins ALD : renouvellement par le médecin traitant",
        "P-DEMO02",
        21,
    ),
    (
        AdministrativeProcedure.Kind.MUTUELLE_CHANGE,
        "Changement de mutuelle : transmettre la nouvelle attestation",
        "P-DEMO03",
        3,
    ),
]


def seed(*, stdout) -> None:
    report = load_reference_data()
    stdout.write(f"  Reference tariffs: {report}.")
    owner = User.objects.filter(email="coordinator@conciergerie.local").first()
    if owner is None:
        stdout.write("  No demo coordinator: procedures skipped.")
        return
    today = timezone.localdate()
    for kind, title, reference, days in DEMO_PROCEDURES:
        if AdministrativeProcedure.objects.filter(title=title).exists():
            continue
        services.open_procedure(
            kind=kind,
            title=title,
            owner=owner,
            due_on=today + dt.timedelta(days=days),
            patient_reference=reference,
        )
    stdout.write("  Simulate a reimbursement in the portal: /reimbursements/estimate/")
