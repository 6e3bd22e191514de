"""The demo seed: claims in every state for the demo patients, twice the same."""

from io import StringIO

from conciergerie.accounts.roles import Role
from reimbursements import demo
from reimbursements.models import Claim, Insurer
from tests.factories import UserFactory
from tests.patients.factories import GuardianshipFactory, PatientFactory
from tests.reimbursements.factories import covered


def test_the_demo_covers_every_claim_state_and_runs_twice_without_duplicates(
    reference_tariffs, settings
):
    settings.WEBHOOK_REQUIRE_HTTPS = False
    UserFactory(email="coordinator@conciergerie.local", role=Role.CARE_COORDINATOR)
    camille = PatientFactory(
        user=UserFactory(email=demo.DEMO_PATIENT_EMAIL),
        registration_channel="seed",
        consented=True,
    )
    covered(camille, mutuelle_name="MGEN")
    parent = UserFactory(email=demo.DEMO_PARENT_EMAIL)
    child = GuardianshipFactory(guardian=parent, patient__consented=True).patient
    covered(child)
    out = StringIO()

    demo.seed(stdout=out)
    first = Claim.objects.count()
    demo.seed(stdout=StringIO())

    assert Claim.objects.count() == first
    states = set(Claim.objects.values_list("state", flat=True))
    assert states == set(Claim.State.values)
    assert Claim.objects.filter(discrepancy_flagged=True).exists()
    assert child.reimbursement_claims.exists()
    mgen = Insurer.objects.get(name="MGEN")
    assert mgen.partner is not None
    assert (
        Claim.objects.filter(payer_partner=mgen.partner).exclude(state="draft").exists()
    )
    assert "client secret" in out.getvalue()
