"""A patient's history of any length, for the portal's constant-query tests."""

from datetime import timedelta

from django.utils import timezone

from appointments.models import Appointment, SatisfactionSurvey
from patients.models import CareRequest, CareRequestMessage
from tests.appointments.factories import AppointmentFactory, open_practitioner
from tests.billing.factories import CustomerFactory, issued_invoice
from tests.patients.factories import CareRequestFactory, DocumentFactory
from tests.reimbursements.factories import sent_claim


def build_history(patient, *, size: int, by) -> None:
    """`size` of everything a file gathers: visits and their surveys, requests,
    messages, documents, invoices and reimbursement claims, old and current."""
    practitioner = open_practitioner()
    customer = CustomerFactory(user=patient.user)
    start = (timezone.now() - timedelta(days=400)).replace(
        minute=0, second=0, microsecond=0
    )
    for index in range(size):
        starts_at = start + timedelta(days=index)
        visit = AppointmentFactory(
            patient=patient,
            practitioner=practitioner,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            state=Appointment.State.DONE,
        )
        SatisfactionSurvey.objects.create(
            appointment=visit, due_at=timezone.now() - timedelta(hours=index + 1)
        )
        upcoming = timezone.now() + timedelta(days=2 + index, hours=index % 5)
        AppointmentFactory(
            patient=patient,
            practitioner=practitioner,
            starts_at=upcoming.replace(minute=0, second=0, microsecond=0),
            ends_at=upcoming.replace(minute=30, second=0, microsecond=0),
        )
        request = CareRequestFactory(
            patient=patient,
            state=CareRequest.State.MATCHING if index % 2 else CareRequest.State.CLOSED,
        )
        CareRequestMessage.objects.create(
            care_request=request,
            side=CareRequestMessage.Side.CONCIERGE,
            author=by,
            body="Nous cherchons un dermatologue près de chez vous.",
        )
        DocumentFactory(patient=patient)
        issued_invoice(customer=customer, patient=patient)
        sent_claim(by=by, patient=patient)
