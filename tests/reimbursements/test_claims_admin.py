"""The claims board in the back-office: list, filters, summary, steps, actions."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conciergerie.audit.models import AccessLog
from reimbursements import services
from reimbursements.models import Claim, ClaimDocument, ClaimEvent, Payer
from tests.patients.factories import PDF_BYTES, DocumentFactory, PatientFactory
from tests.reimbursements.factories import (
    RecordedActFactory,
    covered,
    draft_claim,
    sent_claim,
)

pytestmark = pytest.mark.django_db

BOARD = "/admin/reimbursements/claim/"


def _url(claim, step=""):
    return f"{BOARD}{claim.pk}/{step + '/' if step else 'change/'}"


def test_the_board_lists_claims_with_what_is_still_awaited(staff_client, coordinator):
    waiting = sent_claim(by=coordinator)
    paid = sent_claim(by=coordinator)
    services.record_claim_payment(claim=paid, by=coordinator, amount=D("37.95"))
    short = sent_claim(by=coordinator, payer=Payer.AMO)
    services.record_claim_payment(claim=short, by=coordinator, amount=D("5"))
    client = staff_client(coordinator)

    response = client.get(BOARD)

    assert response.status_code == 200
    summary = response.context["claims_summary"]
    # 37.95 from the waiting claim, 15.05 left on the Assurance Maladie's.
    assert summary["outstanding_total"] == D("53.00")
    assert {row["payer"]: row["amount"] for row in summary["outstanding"]} == {
        "Assurance Maladie": D("15.05"),
        "Mutuelle": D("37.95"),
    }
    assert summary["flagged"] == 1
    html = response.content.decode()
    assert "Encore attendu des organismes" in html
    assert waiting.reference in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state__exact=sent", {"old", "recent"}),
        ("payer__exact=amo", {"recent"}),
        ("waiting=30-60", {"old"}),
        ("waiting=lt15", {"recent"}),
        ("discrepancy_flagged__exact=1", {"short"}),
    ],
)
def test_the_board_filters_by_state_payer_age_and_discrepancy(
    staff_client, coordinator, query, expected
):
    old = sent_claim(by=coordinator)
    Claim.objects.filter(pk=old.pk).update(
        awaiting_since=timezone.now() - dt.timedelta(days=40)
    )
    recent = sent_claim(by=coordinator, payer=Payer.AMO)
    short = sent_claim(by=coordinator)
    services.record_claim_payment(claim=short, by=coordinator, amount=D("5"))
    names = {old.pk: "old", recent.pk: "recent", short.pk: "short"}
    client = staff_client(coordinator)

    response = client.get(f"{BOARD}?{query}")

    shown = {names[claim.pk] for claim in response.context["cl"].result_list}
    assert shown == expected


def test_a_medical_adviser_reads_the_board_but_takes_no_step(staff_client, adviser):
    from tests.factories import UserFactory

    claim = draft_claim(by=UserFactory(role="care_coordinator"))
    client = staff_client(adviser)

    board = client.get(BOARD)
    send = client.post(_url(claim, "send"), {"via": "post"})

    assert board.status_code == 200
    assert send.status_code == 403
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.DRAFT


def test_a_coordinator_prepares_a_claim_from_the_admin(staff_client, coordinator):
    act = RecordedActFactory()
    covered(act.patient)
    client = staff_client(coordinator)

    response = client.post(
        f"{BOARD}add/",
        {
            "patient": act.patient.pk,
            "payer": "amc",
            "recorded_act": act.pk,
            "care_reference": "D-7KQ2MX",
        },
    )

    assert response.status_code == 302
    claim = Claim.objects.get()
    assert (claim.amount_expected, claim.owner, claim.care_reference) == (
        D("37.95"),
        coordinator,
        "D-7KQ2MX",
    )
    assert claim.events.get().kind == ClaimEvent.Kind.CREATED


def test_a_claim_the_service_refuses_is_not_made_from_the_admin(
    staff_client, coordinator
):
    act = RecordedActFactory()  # the patient has no mutuelle on record
    client = staff_client(coordinator)

    response = client.post(
        f"{BOARD}add/",
        {"patient": act.patient.pk, "payer": "amc", "recorded_act": act.pk},
        follow=True,
    )

    assert not Claim.objects.exists()
    assert "pas de mutuelle" in response.content.decode()


def test_the_steps_of_a_claim_from_its_page(staff_client, coordinator):
    claim = draft_claim(by=coordinator)
    client = staff_client(coordinator)

    page = client.get(_url(claim))
    sent = client.post(_url(claim, "send"), {"via": "post", "comment": ""})
    acknowledged = client.post(
        _url(claim, "acknowledge"), {"payer_reference": "HM-9", "comment": ""}
    )
    paid = client.post(_url(claim, "pay"), {"amount": "30,00", "final": "on"})
    appealed = client.post(_url(claim, "appeal"), {"comment": "Il manque 7,95 €"})
    closed = client.post(_url(claim, "close"), {"comment": "Abandon"})

    assert page.status_code == 200
    assert "/send/" in page.content.decode()
    assert AccessLog.objects.filter(
        actor=coordinator, object_id=claim.reference, face=AccessLog.Face.ADMIN
    ).exists()
    assert [r.status_code for r in (sent, acknowledged, paid, appealed, closed)] == [
        302
    ] * 5
    claim.refresh_from_db()
    assert claim.state == Claim.State.CLOSED
    assert (claim.amount_received, claim.discrepancy_flagged) == (D("30.00"), True)
    kinds = list(claim.events.values_list("kind", flat=True))
    assert kinds[-5:] == ["sent", "acknowledged", "payment", "appealed", "closed"]
    history = client.get(_url(claim)).content.decode()
    assert "Il manque 7,95 €" in history  # the events inline


def test_a_refusal_without_its_reason_is_a_field_error(staff_client, coordinator):
    claim = sent_claim(by=coordinator)
    client = staff_client(coordinator)

    response = client.post(_url(claim, "reject"), {"reason": ""})

    assert response.status_code == 200
    assert response.context["form"].errors.as_data()["reason"][0].code == "required"
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.SENT


def test_a_step_the_state_forbids_is_shown_not_crashed(staff_client, coordinator):
    claim = draft_claim(by=coordinator)
    client = staff_client(coordinator)

    response = client.post(_url(claim, "pay"), {"amount": "10"})

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors().as_data()
    assert [error.code for error in errors] == ["not_payable"]


def test_documents_of_the_patients_file_are_attached_and_a_scan_is_filed(
    staff_client, coordinator
):
    claim = draft_claim(by=coordinator, documents=False)
    prescription = DocumentFactory(patient=claim.patient, kind="prescription")
    stranger = DocumentFactory(patient=PatientFactory(consented=True))
    client = staff_client(coordinator)

    form = client.get(_url(claim, "attach"))
    choices = {
        str(value) for value, _label in form.context["form"].fields["documents"].choices
    }
    by_choice = client.post(
        _url(claim, "attach"), {"kind": "prescription", "documents": [prescription.pk]}
    )
    by_upload = client.post(
        _url(claim, "attach"),
        {"kind": "care_sheet", "file": SimpleUploadedFile("fs.pdf", PDF_BYTES)},
    )

    assert str(prescription.pk) in choices
    assert str(stranger.pk) not in choices
    assert (by_choice.status_code, by_upload.status_code) == (302, 302)
    kinds = sorted(claim.attachments.values_list("kind", flat=True))
    assert kinds == ["care_sheet", "prescription"]
    scan = claim.attachments.get(kind="care_sheet").document
    assert (scan.patient, scan.kind, scan.uploaded_by) == (
        claim.patient,
        "care_sheet",
        coordinator,
    )


def test_the_invoice_pdf_is_filed_and_attached(
    staff_client, coordinator, patient, billing_catalogue
):
    from tests.billing.factories import issued_invoice

    covered(patient)
    invoice = issued_invoice(patient=patient, on=dt.date(2026, 3, 12))
    claim = services.open_claim(
        patient=patient,
        payer=Payer.AMC,
        by=coordinator,
        invoice=invoice,
        amount_expected=D("20"),
    )
    client = staff_client(coordinator)

    response = client.post(_url(claim, "attach-invoice"))

    assert response.status_code == 302
    attachment = claim.attachments.get(kind=ClaimDocument.Kind.INVOICE)
    assert attachment.document.content_type == "application/pdf"
    assert attachment.document.patient == patient
    again = client.post(_url(claim, "attach-invoice"))
    assert again.status_code == 302
    assert claim.attachments.count() == 1


def test_bulk_actions_call_the_services_and_report_refusals(staff_client, coordinator):
    sent = sent_claim(by=coordinator)
    draft = draft_claim(by=coordinator)
    client = staff_client(coordinator)

    response = client.post(
        BOARD,
        {
            "action": "acknowledge_selected",
            "_selected_action": [sent.pk, draft.pk],
        },
        follow=True,
    )

    assert Claim.objects.get(pk=sent.pk).state == Claim.State.ACKNOWLEDGED
    assert Claim.objects.get(pk=draft.pk).state == Claim.State.DRAFT
    messages = [str(message) for message in response.context["messages"]]
    assert any(draft.reference in message for message in messages)

    client.post(
        BOARD, {"action": "close_selected", "_selected_action": [sent.pk, draft.pk]}
    )
    states = set(Claim.objects.values_list("state", flat=True))
    assert states == {Claim.State.CLOSED}


def test_the_claims_of_recorded_acts_are_prepared_from_the_acts_list(
    staff_client, coordinator
):
    act = RecordedActFactory()
    covered(act.patient)
    client = staff_client(coordinator)

    client.post(
        "/admin/reimbursements/recordedact/",
        {"action": "prepare_claims", "_selected_action": [act.pk]},
    )

    assert sorted(act.claims.values_list("payer", flat=True)) == ["amc", "amo"]


def test_the_insurers_directory_is_kept_by_managers(staff_client, manager):
    client = staff_client(manager)

    response = client.post(
        "/admin/reimbursements/insurer/add/",
        {
            "name": "MGEN",
            "kind": "amc",
            "claims_email": "prestations@mgen.example.fr",
            "postal_address": "",
            "portal_url": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    duplicate = client.post(
        "/admin/reimbursements/insurer/add/",
        {"name": "mgen", "kind": "amc", "is_active": "on"},
    )
    assert duplicate.status_code == 200
    assert "déjà dans l’annuaire" in duplicate.content.decode()
