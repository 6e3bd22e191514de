"""Demo data: the reference tariffs, and a few procedures for the concierge team."""

import datetime as dt

from django.utils import timezone

from conciergerie.accounts.models import User
from patients.models import Channel, Patient

from . import services
from .models import AdministrativeProcedure
from .tariffs import load_reference_data

DEMO_PROCEDURES = [
    (
        AdministrativeProcedure.Kind.PRIOR_APPROVAL,
        "Entente préalable : séances de kinésithérapie au-delà du référentiel",
        7,
    ),
    (
        AdministrativeProcedure.Kind.ALD,
        "Protocole de soins ALD : renouvellement par le médecin traitant",
        21,
    ),
    (
        AdministrativeProcedure.Kind.MUTUELLE_CHANGE,
        "Changement de mutuelle : transmettre la nouvelle attestation",
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
    patients = list(
        Patient.objects.filter(registration_channel=Channel.SEED).order_by(
            "created_at"
        )[: len(DEMO_PROCEDURES)]
    )
    for index, (kind, title, days) in enumerate(DEMO_PROCEDURES):
        if AdministrativeProcedure.objects.filter(title=title).exists():
            continue
        services.open_procedure(
            kind=kind,
            title=title,
            owner=owner,
            due_on=today + dt.timedelta(days=days),
            patient=patients[index] if index < len(patients) else None,
        )
    stdout.write("  Simulate a reimbursement in the portal: /reimbursements/estimate/")
