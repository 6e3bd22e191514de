"""The patient's reimbursement pages, and the payer's link to a claim's documents."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conciergerie.audit.models import AccessLog
from reimbursements import services
from reimbursements.models import (
    AdministrativeProcedure,
    ClaimDocument,
    ClaimEvent,
    Payer,
    SendingMethod,
)
from tests.patients.factories import PDF_BYTES, GuardianshipFactory
from tests.reimbursements.factories import (
    InsurerFactory,
    RecordedActFactory,
    care_sheet,
    covered,
    draft_claim,
    sent_claim,
)

pytestmark = pytest.mark.django_db

INDEX = "/reimbursements/"


def _visit_claims(patient, by):
    """The Assurance Maladie's and the mutuelle's claims of one visit, sent."""
    act = RecordedActFactory(patient=patient)
    covered(patient)
    claims = services.open_claims_for_act(recorded_act=act, by=by)
    for claim in claims:
        services.attach_documents(
            claim=claim,
            documents=[care_sheet(patient)],
            kind=ClaimDocument.Kind.CARE_SHEET,
            by=by,
        )
        services.send_claim(claim=claim, by=by, via=SendingMethod.POST)
    return {claim.payer: claim for claim in claims}


def test_the_reimbursements_page_asks_to_sign_in(client):
    response = client.get(INDEX)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_patient_sees_per_visit_what_is_expected_and_what_was_received(
    client, coordinator, patient, other_patient
):
    claims = _visit_claims(patient, coordinator)
    services.record_claim_payment(
        claim=claims[Payer.AMO], by=coordinator, amount=D("20.05")
    )
    hidden = sent_claim(by=coordinator, patient=other_patient)
    client.force_login(patient.user)

    response = client.get(INDEX)

    assert response.status_code == 200
    visits = response.context["visits"]
    assert len(visits) == 1
    assert {claim.payer for claim in visits[0].claims} == {Payer.AMO, Payer.AMC}
    assert (visits[0].expected, visits[0].received) == (D("58.00"), D("20.05"))
    assert response.context["outstanding"] == D("37.95")
    html = response.content.decode()
    assert "Mes remboursements" in html
    assert "20,05\xa0€" in html
    assert "37,95\xa0€" in html
    assert "Payée" in html
    assert hidden.reference not in html


def test_a_guardian_follows_the_claims_of_their_child(client, coordinator):
    guardianship = GuardianshipFactory(patient__consented=True)
    child = guardianship.patient
    claim = sent_claim(by=coordinator, patient=child)
    client.force_login(guardianship.guardian)

    index = client.get(INDEX)
    detail = client.get(claim.get_absolute_url())

    assert claim.reference in index.content.decode()
    assert detail.status_code == 200


def test_another_patients_claim_is_not_found(
    client, coordinator, patient, other_patient
):
    claim = sent_claim(by=coordinator, patient=other_patient)
    client.force_login(patient.user)

    detail = client.get(claim.get_absolute_url())
    proof = client.post(
        f"{claim.get_absolute_url()}proof/",
        {"file": SimpleUploadedFile("releve.pdf", PDF_BYTES)},
    )

    assert (detail.status_code, proof.status_code) == (404, 404)
    assert not claim.attachments.filter(kind="proof_of_payment").exists()


def test_the_claim_page_tells_what_the_concierge_did_and_hides_internal_notes(
    client, coordinator, patient
):
    claim = sent_claim(by=coordinator, patient=patient, notes="Appeler la MGEN")
    services.chase_claim(
        claim_id=claim.pk, now=claim.awaiting_since + dt.timedelta(days=30)
    )
    ClaimEvent.objects.create(
        claim=claim, kind=ClaimEvent.Kind.DOCUMENTS_OPENED, public=False
    )
    client.force_login(patient.user)

    response = client.get(claim.get_absolute_url())

    html = response.content.decode()
    assert "Nous avons préparé la demande à Harmonie Mutuelle." in html
    assert "Nous avons envoyé la demande à Harmonie Mutuelle par courrier." in html
    assert "Nous avons relancé Harmonie Mutuelle pour obtenir une réponse." in html
    assert "a consulté les pièces" not in html
    assert "Appeler la MGEN" not in html
    assert "Feuille de soins" in html


def test_a_discrepancy_is_shown_to_the_patient(client, coordinator, patient):
    claim = sent_claim(by=coordinator, patient=patient)
    services.record_claim_payment(
        claim=claim, by=coordinator, amount=D("30"), final=True
    )
    client.force_login(patient.user)

    index = client.get(INDEX).content.decode()
    detail = client.get(claim.get_absolute_url()).content.decode()

    assert "Inférieur au montant attendu" in index
    assert "Il a été versé 7,95\xa0€ de moins que prévu" in detail


def test_a_patient_sends_a_proof_of_payment(client, coordinator, patient):
    claim = sent_claim(by=coordinator, patient=patient)
    client.force_login(patient.user)

    response = client.post(
        f"{claim.get_absolute_url()}proof/",
        {
            "file": SimpleUploadedFile("releve.pdf", PDF_BYTES),
            "amount": "37,95",
            "received_on": "2026-04-02",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == claim.get_absolute_url()
    proof = claim.attachments.get(kind=ClaimDocument.Kind.PROOF_OF_PAYMENT)
    assert proof.document.patient == patient
    assert AccessLog.objects.filter(
        actor=patient.user,
        action=AccessLog.Action.CREATE,
        object_id=str(proof.document.pk),
        face=AccessLog.Face.PORTAL,
    ).exists()
    assert claim.events.filter(
        kind=ClaimEvent.Kind.PROOF_ADDED, amount=D("37.95")
    ).exists()
    assert AdministrativeProcedure.objects.filter(claim=claim).exists()


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"file": ("notes.txt", b"not a document")}, "file", None),
        ({}, "file", "required"),
        (
            {"file": ("releve.pdf", PDF_BYTES), "amount": "beaucoup"},
            "amount",
            "invalid",
        ),
        (
            {"file": ("releve.pdf", PDF_BYTES), "received_on": "2099-01-01"},
            "received_on",
            "date_in_future",
        ),
    ],
)
def test_a_bad_proof_comes_back_with_errors_and_leaves_nothing(
    client, coordinator, patient, data, field, code
):
    claim = sent_claim(by=coordinator, patient=patient)
    client.force_login(patient.user)
    post = {
        key: SimpleUploadedFile(*value) if key == "file" else value
        for key, value in data.items()
    }

    response = client.post(f"{claim.get_absolute_url()}proof/", post)

    assert response.status_code == 400
    errors = response.context["form"].errors.as_data()
    assert field in errors
    if code:
        assert errors[field][0].code == code
    assert not claim.attachments.filter(kind="proof_of_payment").exists()


def test_no_proof_is_asked_for_a_claim_being_prepared(client, coordinator, patient):
    claim = draft_claim(by=coordinator, patient=patient)
    client.force_login(patient.user)

    page = client.get(claim.get_absolute_url())
    post = client.post(
        f"{claim.get_absolute_url()}proof/",
        {"file": SimpleUploadedFile("releve.pdf", PDF_BYTES)},
    )

    assert "Envoyer le justificatif" not in page.content.decode()
    assert post.status_code == 400
    errors = post.context["form"].non_field_errors().as_data()
    assert [error.code for error in errors] == ["claim_not_open"]


# --- The payer's link --------------------------------------------------------------


def _path(claim) -> str:
    link = services.payer_link(claim)
    return link[link.index("/reimbursements/") :]


def test_the_payers_link_lists_and_serves_the_documents_and_logs_each_download(
    client, coordinator
):
    InsurerFactory()
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    document = claim.attachments.get().document

    page = client.get(_path(claim))
    download = client.get(f"{_path(claim)}{document.pk}/")

    assert page.status_code == 200
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    opened = AccessLog.objects.filter(
        patient_ref=claim.patient.reference, action=AccessLog.Action.READ
    ).get()
    assert (opened.actor, opened.object_id) == (None, claim.reference)
    assert "Harmonie Mutuelle" in opened.reason
    assert claim.patient.full_name in page.content.decode()
    assert download.status_code == 200
    assert download.content == PDF_BYTES
    assert "no-store" in download["Cache-Control"]
    assert AccessLog.objects.filter(
        patient_ref=claim.patient.reference,
        action=AccessLog.Action.DOWNLOAD,
        object_id=str(document.pk),
    ).exists()
    assert claim.events.filter(
        kind=ClaimEvent.Kind.DOCUMENTS_OPENED, public=False
    ).exists()


def test_a_forged_expired_or_closed_link_opens_nothing(client, coordinator, settings):
    claim = sent_claim(by=coordinator)
    document = claim.attachments.get().document
    path = _path(claim)
    forged = path.rstrip("/")[:-3] + "abc/"

    assert client.get(forged).status_code == 404

    settings.REIMBURSEMENT_PAYER_LINK_DAYS = -1
    assert client.get(path).status_code == 404
    assert client.get(f"{path}{document.pk}/").status_code == 404

    settings.REIMBURSEMENT_PAYER_LINK_DAYS = 60
    services.close_claim(claim=claim, by=coordinator, comment="Abandon")
    assert client.get(path).status_code == 404


def test_a_link_opens_only_its_own_claims_documents(client, coordinator):
    claim = sent_claim(by=coordinator)
    other_document = care_sheet(sent_claim(by=coordinator).patient)

    response = client.get(f"{_path(claim)}{other_document.pk}/")

    assert response.status_code == 404
