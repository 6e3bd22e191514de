"""The estimate of a visit printed on its quote, as the patient will read it."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from reimbursements import services
from reimbursements.engine import (
    ActInput,
    ContractInput,
    Pathway,
    PatientInput,
    PractitionerInput,
    Sector,
    Specialty,
)
from tests.reimbursements.factories import RecordedActFactory, error_code

CARDIOLOGIST = PractitionerInput(
    sector=Sector.SECTOR_2_OPTAM, specialty=Specialty.CARDIOLOGY
)
ADULT_REFERRED = PatientInput(age=40, pathway=Pathway.REFERRED)
MUTUELLE_200 = ContractInput(coverage_percent=D("200"))


@pytest.fixture
def quote(patient, billing_catalogue):
    """A quote with the specialist's 60 euro fee advanced for the patient."""
    from billing import services as billing
    from billing.models import VatCategory
    from tests.billing.factories import CustomerFactory, lines

    return billing.create_quote(
        customer=CustomerFactory(user=patient.user),
        patient=patient,
        lines=lines(
            ("Honoraires du cardiologue (débours)", 1, "60", VatCategory.DISBURSEMENT)
        ),
    )


def test_the_estimate_is_printed_on_the_quote(quote, reference_tariffs):
    estimate = services.estimate_quote(
        quote=quote,
        act=ActInput(code="CS", performed_on=dt.date(2026, 3, 10), fee=D("60")),
        practitioner=CARDIOLOGIST,
        patient=ADULT_REFERRED,
        contract=MUTUELLE_200,
    )

    quote.refresh_from_db()
    assert (estimate.amo, estimate.amc) == (D("20.05"), D("37.95"))
    assert quote.estimated_reimbursement == D("58.00")
    assert quote.out_of_pocket == D("2.00")


def test_the_participation_already_paid_comes_from_the_patients_file(
    quote, patient, reference_tariffs
):
    for week in range(25):
        RecordedActFactory(
            patient=patient,
            performed_on=dt.date(2026, 1, 5) + dt.timedelta(weeks=week),
        )

    estimate = services.estimate_quote(
        quote=quote,
        act=ActInput(code="CS", performed_on=dt.date(2026, 12, 1), fee=D("60")),
        practitioner=CARDIOLOGIST,
        patient=ADULT_REFERRED,
        contract=MUTUELLE_200,
    )

    assert estimate.participation == 0
    quote.refresh_from_db()
    assert quote.estimated_reimbursement == D("60.00")


def test_a_quote_already_answered_keeps_its_figures(quote, reference_tariffs):
    from billing import services as billing

    billing.send_quote(quote=quote)
    billing.refuse_quote(quote=quote, by=None, ip=None, reason="Trop cher")

    with pytest.raises(ValidationError) as caught:
        services.estimate_quote(
            quote=quote,
            act=ActInput(code="CS", performed_on=dt.date(2026, 3, 10), fee=D("60")),
            practitioner=CARDIOLOGIST,
            patient=ADULT_REFERRED,
        )

    assert error_code(caught.value) == "quote_decided"


def test_a_manager_prints_the_estimate_from_the_back_office(
    staff_client, manager, quote, reference_tariffs
):
    client = staff_client(manager)

    page = client.get(f"/admin/reimbursements/claim/estimate-quote/?quote={quote.pk}")
    response = client.post(
        "/admin/reimbursements/claim/estimate-quote/",
        {
            "quote": quote.pk,
            "act": "CS",
            "performed_on": "2026-03-10",
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

    assert page.context["form"].initial["quote"] == quote.pk
    assert response.status_code == 200
    assert response.context["estimate"].amc == D("37.95")
    quote.refresh_from_db()
    assert quote.estimated_reimbursement == D("58.00")


def test_a_coordinator_cannot_change_a_quotes_figures(staff_client, coordinator, quote):
    response = staff_client(coordinator).get(
        "/admin/reimbursements/claim/estimate-quote/"
    )

    assert response.status_code == 403
