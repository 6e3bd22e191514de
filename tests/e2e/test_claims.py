"""A patient follows their reimbursement claims in Chromium and sends a proof."""

from decimal import Decimal as D

import pytest
from django.test import Client

from conciergerie.accounts.roles import Role
from reimbursements import services
from reimbursements.models import ClaimDocument, ClaimEvent, Payer, SendingMethod
from tests.factories import UserFactory
from tests.patients.factories import PDF_BYTES, PatientFactory
from tests.reimbursements.factories import (
    RecordedActFactory,
    care_sheet,
    covered,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visit():
    """Camille's specialist visit: the Assurance Maladie paid, the mutuelle not yet."""
    coordinator = UserFactory(
        email="hugo.bernard@example.fr", role=Role.CARE_COORDINATOR
    )
    patient = PatientFactory(
        user=UserFactory(email="camille.petit@example.fr"),
        first_names="Camille",
        last_name="Petit",
        consented=True,
    )
    covered(patient)
    act = RecordedActFactory(patient=patient)
    claims = {
        claim.payer: claim
        for claim in services.open_claims_for_act(recorded_act=act, by=coordinator)
    }
    sheet = care_sheet(patient)
    for claim in claims.values():
        services.attach_documents(
            claim=claim,
            documents=[sheet],
            kind=ClaimDocument.Kind.CARE_SHEET,
            by=coordinator,
        )
        services.send_claim(claim=claim, by=coordinator, via=SendingMethod.POST)
    services.record_claim_payment(
        claim=claims[Payer.AMO], by=coordinator, amount=D("20.05")
    )
    return patient, claims


@pytest.fixture
def signed_in_page(page, live_server, visit):
    patient, _claims = visit
    client = Client()
    client.force_login(patient.user)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    return page


def test_a_patient_sees_expected_and_received_then_sends_a_proof(
    signed_in_page, visit, tmp_path
):
    page = signed_in_page
    _patient, claims = visit
    mutuelle = claims[Payer.AMC]
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )

    page.goto("/reimbursements/")

    visit_table = page.get_by_role("table", name="Remboursements de")
    visit_table.wait_for()
    rows = visit_table.locator("tbody tr")
    assert rows.count() == 2
    text = visit_table.inner_text()
    assert "Assurance Maladie" in text
    assert "Harmonie Mutuelle" in text
    assert "20,05\xa0€" in text  # expected and received from the Assurance Maladie
    assert "37,95\xa0€" in text  # expected from the mutuelle
    totals = page.get_by_role("region", name="En bref").inner_text()
    assert "37,95\xa0€" in totals  # still awaited

    page.get_by_role("link", name=f"Suivre {mutuelle.reference}").click()
    page.get_by_role("heading", name=f"Demande {mutuelle.reference}").wait_for()
    timeline = page.get_by_role("region", name="Ce que nous avons fait")
    assert "Nous avons envoyé la demande à Harmonie Mutuelle par courrier." in (
        timeline.inner_text()
    )

    proof = tmp_path / "releve-bancaire.pdf"
    proof.write_bytes(PDF_BYTES)
    form = page.get_by_role(
        "form", name="L’argent est arrivé ? Envoyez-nous le justificatif"
    )
    form.get_by_label("Justificatif de paiement").set_input_files(str(proof))
    form.get_by_label("Montant reçu (€)").fill("37,95")
    form.get_by_role("button", name="Envoyer le justificatif").click()

    page.get_by_text("Merci : votre justificatif est classé").wait_for()
    assert "Un justificatif de paiement a été ajouté." in (
        page.get_by_role("region", name="Ce que nous avons fait").inner_text()
    )
    assert "Justificatif de paiement" in (
        page.get_by_role("region", name="Pièces envoyées avec la demande").inner_text()
    )
    assert mutuelle.events.filter(
        kind=ClaimEvent.Kind.PROOF_ADDED, amount=D("37.95")
    ).exists()
    assert mutuelle.attachments.get(kind="proof_of_payment").document.size == len(
        PDF_BYTES
    )
    assert violations == []
