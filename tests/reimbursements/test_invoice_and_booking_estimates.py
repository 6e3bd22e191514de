"""The estimate where patients decide and pay: on the invoice (page and PDF) and
on the booking pages (the directory's slots, the booking step, a proposal)."""

import datetime as dt
import html
import subprocess
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from reimbursements import services
from reimbursements.engine import (
    ActInput,
    ContractInput,
    Flag,
    Pathway,
    PatientInput,
    PractitionerInput,
    Sector,
    Specialty,
    format_euros,
)
from tests.reimbursements.factories import RecordedActFactory, covered, error_code

CARDIOLOGIST = PractitionerInput(
    sector=Sector.SECTOR_2_OPTAM, specialty=Specialty.CARDIOLOGY
)
ADULT_REFERRED = PatientInput(age=40, pathway=Pathway.REFERRED)
MUTUELLE_200 = ContractInput(coverage_percent=D("200"))
VISIT = ActInput(code="CS", performed_on=dt.date(2026, 3, 2), fee=D("60"))


def page_text(response) -> str:
    return plain(html.unescape(response.content.decode()))


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(content)
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return " ".join(result.stdout.replace("\u202f", " ").split())


def plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def french_euros(amount: str) -> str:
    with translation.override("fr"):
        return plain(format_euros(D(amount)))


def fr(msgid: str, **values: str) -> str:
    """A message as the French page prints it, whether or not catalogues are built."""
    with translation.override("fr"):
        text = translation.gettext(msgid)
    return plain(text % values if values else text)


FEE_LINE = "Fee charged by the practitioner"
ESTIMATED = "Estimated reimbursement"


@pytest.fixture
def invoice(patient, billing_catalogue):
    """Concierge fees and the cardiologist's 60 euro fee advanced for the patient."""
    from billing.models import VatCategory
    from tests.billing.factories import CustomerFactory, draft_invoice, lines

    return draft_invoice(
        CustomerFactory(user=patient.user),
        lines(
            ("Organisation d'un parcours de soins", 1, "49.00"),
            ("Honoraires du cardiologue (débours)", 1, "60", VatCategory.DISBURSEMENT),
        ),
        patient=patient,
        service_date=dt.date(2026, 3, 2),
    )


def estimate(invoice, **overrides):
    return services.estimate_invoice(
        **{
            "invoice": invoice,
            "act": VISIT,
            "practitioner": CARDIOLOGIST,
            "patient": ADULT_REFERRED,
            "contract": MUTUELLE_200,
            **overrides,
        }
    )


# --- Invoices ------------------------------------------------------------------------


def test_the_estimate_is_kept_with_the_invoice_split_by_payer(
    invoice, reference_tariffs
):
    printed = estimate(invoice)

    invoice.refresh_from_db()
    assert invoice.reimbursement_estimate == printed
    assert (printed.amo, printed.amc) == (D("20.05"), D("37.95"))
    assert printed.out_of_pocket == invoice.total - D("58.00")
    assert printed.language == "fr"
    assert printed.explanation[0] == (fr(FEE_LINE), D("60.00"))


def test_estimating_again_replaces_the_figures(invoice, reference_tariffs):
    estimate(invoice)

    printed = estimate(invoice, contract=None)

    assert printed.amc == D("0.00")
    assert invoice.__class__.objects.get(pk=invoice.pk).reimbursement_estimate.amc == 0


def test_the_participation_already_paid_comes_from_the_patients_file(
    invoice, patient, reference_tariffs
):
    for week in range(25):
        RecordedActFactory(
            patient=patient, performed_on=dt.date(2026, 1, 5) + dt.timedelta(weeks=week)
        )

    printed = estimate(invoice)

    assert printed.participation == 0
    assert printed.amo + printed.amc == D("60.00")


def test_an_issued_invoice_keeps_what_it_printed(invoice, reference_tariffs):
    from billing import services as billing

    billing.issue_invoice(invoice=invoice)

    with pytest.raises(ValidationError) as caught:
        estimate(invoice)

    assert error_code(caught.value) == "invoice_issued"


def test_the_patient_reads_the_estimate_on_the_invoice_page(
    client, patient, invoice, reference_tariffs
):
    from billing import services as billing

    estimate(invoice)
    billing.issue_invoice(invoice=invoice)
    client.force_login(patient.user)

    page = client.get(reverse("billing:invoice", args=[invoice.public_id]))

    text = page_text(page)
    assert page.status_code == 200
    assert fr(ESTIMATED) in text
    for amount in ("20.05", "37.95"):
        assert french_euros(amount) in text
    assert fr(FEE_LINE) in text


def test_an_invoice_without_estimate_prints_none(client, patient, invoice):
    from billing import services as billing

    billing.issue_invoice(invoice=invoice)
    client.force_login(patient.user)

    page = client.get(reverse("billing:invoice", args=[invoice.public_id]))

    assert page.status_code == 200
    assert fr(ESTIMATED) not in page_text(page)


def test_the_invoice_pdf_prints_each_share_and_the_explanation(
    invoice, reference_tariffs, tmp_path
):
    from billing import pdf
    from billing import services as billing

    estimate(invoice)
    issued = billing.issue_invoice(invoice=invoice)

    text = pdf_text(pdf.render_pdf(issued), tmp_path)

    # Headings are printed in capitals by the stylesheet.
    assert fr(ESTIMATED).upper() in text
    assert f"{fr('Assurance Maladie')} {french_euros('20.05')}" in text
    assert f"{fr('Mutuelle')} {french_euros('37.95')}" in text
    left = french_euros(str(issued.total - D("58.00")))
    assert f"{fr('Estimated out-of-pocket')} {left}" in text
    assert fr(FEE_LINE) in text


def test_a_manager_prints_the_estimate_on_a_draft_from_the_back_office(
    staff_client, manager, invoice, reference_tariffs
):
    client = staff_client(manager)

    page = client.get(
        f"/admin/reimbursements/claim/estimate-invoice/?invoice={invoice.pk}"
    )
    response = client.post(
        "/admin/reimbursements/claim/estimate-invoice/",
        {
            "invoice": invoice.pk,
            "act": "CS",
            "performed_on": "2026-03-02",
            "fee": "60",
            "mode": "in_person",
            "sector": "sector_2_optam",
            "specialty": "cardiology",
            "pathway": "referred",
            "age": "40",
            "participation_paid_this_year": "0",
            "coverage_percent": "200",
            "responsible": "on",
        },
    )

    assert page.context["form"].initial["invoice"] == invoice.pk
    assert response.status_code == 200
    invoice.refresh_from_db()
    assert invoice.reimbursement_estimate.amc == D("37.95")


def test_a_coordinator_cannot_print_on_an_invoice(staff_client, coordinator):
    response = staff_client(coordinator).get(
        "/admin/reimbursements/claim/estimate-invoice/"
    )

    assert response.status_code == 403


# --- Booking -------------------------------------------------------------------------


@pytest.fixture
def cardiologist(db):
    from specialists.models import Practitioner
    from tests.appointments.factories import open_practitioner

    return open_practitioner(
        sector=Practitioner.Sector.SECTOR_2_OPTAM, consultation_fee=D("60.00")
    )


def sentence(left: str, amo: str, amc: str) -> str:
    return fr(
        "For a fee of %(fee)s, you will pay about %(left)s, the Assurance Maladie "
        "%(amo)s, your mutuelle %(amc)s.",
        fee=french_euros("60.00"),
        left=french_euros(left),
        amo=french_euros(amo),
        amc=french_euros(amc),
    )


def test_the_directory_tells_the_patient_what_they_will_pay(
    client, patient, cardiologist, reference_tariffs
):
    covered(patient)
    client.force_login(patient.user)

    response = client.get(cardiologist.get_absolute_url())

    assert response.status_code == 200
    assert sentence("2.00", "20.05", "37.95") in page_text(response)


def test_without_a_mutuelle_the_patient_pays_the_rest(
    client, patient, cardiologist, reference_tariffs
):
    covered(patient, coverage_rate=None, optam_overrun_rate=None)
    client.force_login(patient.user)

    response = client.get(cardiologist.get_absolute_url())

    assert sentence("39.95", "20.05", "0.00") in page_text(response)
    assert fr(
        "Estimate from your file, in the coordinated care pathway; no mutuelle is "
        "recorded in your file."
    ) in page_text(response)


def test_the_booking_step_shows_the_estimate_for_the_slot(
    client, patient, cardiologist, reference_tariffs
):
    from tests.appointments.factories import slot_after

    covered(patient)
    client.force_login(patient.user)
    slot = slot_after(cardiologist, hours=30)

    response = client.get(
        reverse("appointments:book", kwargs={"public_id": cardiologist.public_id}),
        {"starts_at": slot.starts_at.isoformat(), "kind": slot.kind},
    )

    assert response.status_code == 200
    assert sentence("2.00", "20.05", "37.95") in page_text(response)


def test_a_proposal_shows_the_estimate_beside_each_practitioner(
    client, patient, cardiologist, coordinator, reference_tariffs
):
    from appointments import services as appointments
    from tests.appointments.factories import free_slots

    covered(patient)
    slot = free_slots(cardiologist, after=timezone.now() + dt.timedelta(days=3))[0]
    proposal = appointments.propose_slots(
        patient=patient,
        slots=[
            appointments.SlotChoice(
                practitioner=cardiologist, kind=slot.kind, starts_at=slot.starts_at
            )
        ],
        by=coordinator,
    )
    client.force_login(patient.user)

    response = client.get(
        reverse("appointments:proposal", kwargs={"public_id": proposal.public_id})
    )

    assert response.status_code == 200
    text = page_text(response)
    assert (
        fr(
            "You will pay about %(left)s, the Assurance Maladie %(amo)s, your "
            "mutuelle %(amc)s.",
            left=french_euros("2.00"),
            amo=french_euros("20.05"),
            amc=french_euros("37.95"),
        )
        in text
    )


def test_a_visitor_without_a_file_reads_an_adults_figures_without_mutuelle(
    client, cardiologist, reference_tariffs
):
    booking = services.estimate_booking(
        practitioner=cardiologist, patient=None, on=timezone.localdate()
    )

    assert not booking.with_file
    assert booking.estimate.amo == D("20.05")
    assert booking.estimate.out_of_pocket == D("39.95")


def test_a_practitioner_without_a_fee_gets_no_estimate(db, reference_tariffs):
    from tests.appointments.factories import open_practitioner

    practitioner = open_practitioner(consultation_fee=None)

    assert (
        services.estimate_booking(
            practitioner=practitioner, patient=None, on=timezone.localdate()
        )
        is None
    )


def test_a_general_practitioners_teleconsultation_bills_the_teleconsultation(
    db, reference_tariffs
):
    from tests.appointments.factories import open_practitioner

    practitioner = open_practitioner(
        specialties=("general-practice",), consultation_fee=D("25.00")
    )

    booking = services.estimate_booking(
        practitioner=practitioner,
        patient=None,
        on=timezone.localdate(),
        teleconsultation=True,
    )

    # A first video visit with a practitioner never seen in person is not
    # reimbursed: the patient reads it before choosing the slot.
    assert booking.estimate.act_code == "TCG"
    assert Flag.TELECONSULTATION_NOT_REIMBURSABLE in booking.estimate.flags
    assert booking.estimate.out_of_pocket == D("25.00")
