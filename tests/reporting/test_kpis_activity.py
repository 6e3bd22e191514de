"""Appointment, reminder, money and reimbursement figures on small hand-built sets."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments.models import Appointment
from billing.models import Invoice
from billing.services import create_credit_note
from conciergerie.reporting import kpis
from reimbursements.models import Claim
from specialists.models import Specialty
from tests.appointments.factories import AppointmentFactory, at, open_practitioner
from tests.billing.factories import issued_invoice, lines
from tests.notifications.factories import MessageFactory
from tests.reimbursements.factories import draft_claim
from tests.reporting.conftest import MARCH

State = Appointment.State


@pytest.fixture
def march_appointments(march_requests):
    """Eight appointments in March, one in April, one practitioner, an hour apart.

    done ×3 (one for R1), no-show ×2 (one of them for dermatology by its own
    specialty), cancelled ×1, cancelled late ×1, moved ×1; April: one no-show.
    """
    practitioner = open_practitioner()
    dermatology = Specialty.objects.get(code="dermatology")
    patient = march_requests["R1"].patient

    def book(hour, state, **fields):
        starts = at(2026, 3, 16, hour) if "starts_at" not in fields else None
        return AppointmentFactory(
            practitioner=practitioner,
            patient=patient,
            state=state,
            **({"starts_at": starts} if starts else {}),
            **fields,
        )

    return {
        "done_r1": book(8, State.DONE, care_request=march_requests["R1"]),
        "done": book(9, State.DONE),
        "done_r3": book(10, State.DONE, care_request=march_requests["R3"]),
        "no_show_derm": book(11, State.NO_SHOW, specialty=dermatology),
        "no_show": book(12, State.NO_SHOW),
        "cancelled": book(13, State.CANCELLED),
        "late": book(14, State.LATE_CANCELLED, care_request=march_requests["R2"]),
        "moved": book(15, State.RESCHEDULED),
        "april": book(0, State.NO_SHOW, starts_at=at(2026, 4, 2, 9)),
    }


def test_no_show_and_late_cancellation_rates(march_appointments):
    outcomes = kpis.appointment_outcomes(MARCH)

    # Done 3, no-show 2: 2 / 5 = 40 %. Late 1 out of done 3 + no-show 2 +
    # cancelled 1 + late 1 = 7: 14.3 %. The moved one and April's are not counted.
    assert outcomes.no_show == kpis.Rate(2, 5)
    assert outcomes.no_show.percent == Decimal("40.0")
    assert outcomes.late_cancellation == kpis.Rate(1, 7)
    assert outcomes.late_cancellation.percent == Decimal("14.3")


def test_appointment_outcomes_follow_specialty_and_concierge(march_appointments, alice):
    # Dermatology: done for R1 (the request's specialty), the no-show booked as
    # dermatology, the late cancellation for R2: no-shows 1 / 2, late 1 / 3.
    dermatology = kpis.appointment_outcomes(replace(MARCH, specialty="dermatology"))
    # Alice's requests R1 and R2: done 1, late 1.
    alices = kpis.appointment_outcomes(replace(MARCH, concierge_id=alice.pk))

    assert dermatology == kpis.AppointmentOutcomes(
        no_show=kpis.Rate(1, 2), late_cancellation=kpis.Rate(1, 3)
    )
    assert alices == kpis.AppointmentOutcomes(
        no_show=kpis.Rate(0, 1), late_cancellation=kpis.Rate(1, 2)
    )


def test_reminder_delivery_rate_per_channel(db):
    sent, delivered, failed = "sent", "delivered", "failed"
    for channel, state in [
        ("sms", sent),
        ("sms", delivered),
        ("sms", failed),
        ("sms", "cancelled"),
        ("sms", "pending"),
        ("email", sent),
        ("email", failed),
    ]:
        MessageFactory(
            template=kpis.REMINDER_TEMPLATE,
            channel=channel,
            state=state,
            due_at=at(2026, 3, 12, 18),
        )
    # Outside the figure: April's reminder, and a booking confirmation.
    MessageFactory(
        template=kpis.REMINDER_TEMPLATE, state=delivered, due_at=at(2026, 4, 1, 9)
    )
    MessageFactory(
        template="appointments/messages/confirmation",
        state=delivered,
        due_at=at(2026, 3, 12, 18),
    )

    rates = kpis.reminder_delivery(MARCH)

    # SMS: sent + delivered = 2 of 3 ended (the failed one): 66.7 %; email 1 / 2;
    # in all 3 / 5 = 60 %. Cancelled and pending ones are not over.
    assert rates == {
        "email": kpis.Rate(1, 2),
        "sms": kpis.Rate(2, 3),
        "all": kpis.Rate(3, 5),
    }
    assert rates["sms"].percent == Decimal("66.7")
    assert rates["all"].percent == Decimal("60.0")


def test_reminder_delivery_follows_the_concierge_of_the_appointment(
    march_appointments, alice
):
    for appointment, state in [
        (march_appointments["done_r1"], "delivered"),  # Alice's R1
        (march_appointments["done_r3"], "failed"),  # Bruno's R3
    ]:
        MessageFactory(
            template=kpis.REMINDER_TEMPLATE,
            subject=f"appointments.appointment:{appointment.pk}",
            state=state,
            due_at=appointment.starts_at - timedelta(hours=24),
        )

    rates = kpis.reminder_delivery(replace(MARCH, concierge_id=alice.pk))

    assert rates["all"] == kpis.Rate(1, 1)


def test_revenue_per_month_net_of_credit_notes(db):
    # February: 30.00. March: 100.00 and 49.00 issued, the 100.00 one credited in
    # full on 25 March: 149.00 - 100.00 = 49.00. Amounts exclude VAT and the
    # 60.00 of fees advanced for a practitioner.
    issued_invoice(specs=lines(("Forfait", 1, "30.00")), on=date(2026, 2, 15))
    credited = issued_invoice(
        specs=lines(("Forfait", 2, "50.00")), on=date(2026, 3, 10)
    )
    issued_invoice(
        specs=lines(
            ("Organisation", 1, "49.00"), ("Honoraires", 1, "60.00", "disbursement")
        ),
        on=date(2026, 3, 20),
    )
    create_credit_note(invoice=credited, reason="Erreur", on=date(2026, 3, 25))

    months = kpis.revenue_per_month(
        kpis.Filters(start=date(2026, 2, 1), end=date(2026, 3, 31))
    )

    assert [(row.month, row.invoiced, row.credited, row.net) for row in months] == [
        (date(2026, 2, 1), Decimal("30.00"), Decimal("0.00"), Decimal("30.00")),
        (date(2026, 3, 1), Decimal("149.00"), Decimal("100.00"), Decimal("49.00")),
    ]


def test_outstanding_invoices(db):
    # Three issued invoices at 20 % VAT: 60.00, 36.00 and 12.00 due in all.
    # The first is paid 10.00 and past due (50.00 left); the last is paid in full.
    late = issued_invoice(specs=lines(("Forfait", 1, "50.00")), on=date(2026, 3, 1))
    issued_invoice(specs=lines(("Forfait", 1, "30.00")), on=date(2026, 3, 2))
    paid = issued_invoice(specs=lines(("Forfait", 1, "10.00")), on=date(2026, 3, 3))
    Invoice.objects.filter(pk=late.pk).update(
        state=Invoice.State.OVERDUE, amount_paid=Decimal("10.00")
    )
    Invoice.objects.filter(pk=paid.pk).update(
        state=Invoice.State.PAID, amount_paid=Decimal("12.00")
    )

    outstanding = kpis.outstanding_invoices(MARCH)

    # 50.00 + 36.00 = 86.00 on two invoices, of which 50.00 on one past due.
    assert outstanding == kpis.Outstanding(
        count=2,
        amount=Decimal("86.00"),
        overdue_count=1,
        overdue_amount=Decimal("50.00"),
    )


def test_reimbursements_pending_by_age(manager):
    now = timezone.now()
    State = Claim.State
    for days, state, expected, received in [
        (3, State.SENT, "30.00", "0.00"),
        (20, State.PARTIALLY_PAID, "50.00", "20.00"),
        (45, State.ACKNOWLEDGED, "10.00", "0.00"),
        (90, State.APPEALED, "25.00", "0.00"),
        (10, State.PAID, "40.00", "40.00"),  # paid in full: not pending
        (70, State.REJECTED, "15.00", "0.00"),  # refused: not pending
    ]:
        claim = draft_claim(by=manager)
        Claim.objects.filter(pk=claim.pk).update(
            state=state,
            sent_at=now - timedelta(days=days),
            amount_expected=Decimal(expected),
            amount_received=Decimal(received),
        )
    draft_claim(by=manager)  # not sent yet

    buckets = kpis.reimbursements_pending_by_age(MARCH, now=now)

    # Under 15 days: 30.00; 15–29: 50.00 - 20.00; 30–59: 10.00; 60 and more: 25.00.
    assert [(b.count, b.amount) for b in buckets] == [
        (1, Decimal("30.00")),
        (1, Decimal("30.00")),
        (1, Decimal("10.00")),
        (1, Decimal("25.00")),
    ]


def test_satisfaction_csat_and_nps_per_month(march_appointments, alice):
    from appointments.models import SatisfactionSurvey

    answers = [
        # (appointment, answered at, satisfaction, recommend)
        ("done_r1", at(2026, 3, 17, 10), 5, 10),  # Alice's R1
        ("done", at(2026, 3, 18, 10), 4, 9),
        ("done_r3", at(2026, 3, 19, 10), 3, 7),
        ("no_show_derm", at(2026, 3, 31, 23, 30), 2, 3),  # still March in Paris
        ("cancelled", at(2026, 2, 10, 10), 5, 10),  # February
        ("late", None, None, None),  # invited, never answered
    ]
    for name, answered_at, satisfaction, recommend in answers:
        SatisfactionSurvey.objects.create(
            appointment=march_appointments[name],
            due_at=at(2026, 3, 17, 9),
            answered_at=answered_at,
            satisfaction=satisfaction,
            recommend=recommend,
        )
    period = kpis.Filters(start=date(2026, 2, 1), end=date(2026, 3, 31))

    february, march = kpis.satisfaction_per_month(period)
    alices = kpis.satisfaction_per_month(replace(period, concierge_id=alice.pk))

    # February: one answer, 5 and 10: CSAT 100 %, NPS 100.
    assert (february.answers, february.csat, february.nps) == (1, kpis.Rate(1, 1), 100)
    # March: satisfaction 5, 4, 3, 2: CSAT 2 / 4 = 50 %. Recommend 10, 9 (two
    # promoters), 7 (passive), 3 (one detractor): NPS (2 - 1) / 4 = 25.
    assert (march.answers, march.csat, march.nps) == (4, kpis.Rate(2, 4), 25)
    assert march.csat.percent == Decimal("50.0")
    # Alice's requests: R1's visit only.
    assert [(m.answers, m.nps) for m in alices] == [(0, None), (1, 100)]
