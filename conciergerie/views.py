"""The portal's home page and the patient's dashboard: "what's next for me?"."""

from datetime import timedelta
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import DecimalField, F, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from patients import viewing

#: How long a document counts as newly added on the dashboard.
RECENT_DOCUMENTS_DAYS = 30
#: Items listed per block; the full lists live in each section.
SHOWN = 5


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and not request.user.is_staff:
        return redirect("dashboard")
    return render(request, "portal/home.html")


def join_url(appointment) -> str:
    """The "join" button of a video consultation: its session's waiting room."""
    return reverse(
        "teleconsult:appointment-entry", kwargs={"public_id": appointment.public_id}
    )


def join_window_open(appointment, *, now) -> bool:
    """The teleconsultation's own window, so the button and the room agree."""
    from teleconsult.services.sessions import JOINABLE_STATES, window_of

    if not appointment.is_video or appointment.state not in JOINABLE_STATES:
        return False
    opens, closes = window_of(appointment)
    return opens <= now < closes


def _money_sum(expression) -> Coalesce:
    return Coalesce(
        Sum(expression, output_field=DecimalField(max_digits=12, decimal_places=2)),
        Value(Decimal("0.00")),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )


def _dashboard_blocks(request: HttpRequest, patient) -> dict:
    """Each block is one bounded query: the page costs the same for a file with
    three rows or three thousand."""
    from appointments.models import Appointment, SatisfactionSurvey, SlotProposal
    from billing.models import Invoice
    from patients.models import CareRequest, CareRequestMessage, Document
    from reimbursements.models import Claim

    now = timezone.now()
    next_appointment = (
        Appointment.objects.filter(
            patient=patient,
            state__in=[
                Appointment.State.HELD,
                Appointment.State.BOOKED,
                Appointment.State.CONFIRMED,
            ],
            ends_at__gt=now,
        )
        .select_related("practitioner", "place")
        .order_by("starts_at")
        .first()
    )
    proposals = list(
        SlotProposal.objects.filter(patient=patient)
        .open()
        .order_by("expires_at")[:SHOWN]
    )
    requests = list(
        CareRequest.objects.filter(patient=patient)
        .open()
        .order_by("-created_at")[:SHOWN]
    )
    unread = CareRequestMessage.objects.unread_by_patient().filter(
        care_request__patient=patient
    )
    waiting_messages = list(
        unread.select_related("care_request").order_by("-created_at")[:SHOWN]
    )
    documents = list(
        Document.objects.filter(
            patient=patient,
            created_at__gte=now - timedelta(days=RECENT_DOCUMENTS_DAYS),
        ).order_by("-created_at")[:SHOWN]
    )
    invoices = (
        Invoice.objects.visible_to(request.user)
        .filter(viewing.invoice_filter(request, patient))
        .outstanding()
    )
    invoices_due = list(invoices.order_by("due_date", "number")[:SHOWN])
    total_due = invoices.aggregate(
        total=_money_sum(
            Greatest(
                F("total") - F("amount_credited") - F("amount_paid"),
                Value(Decimal("0.00")),
            )
        )
    )["total"]
    expected_claims = Claim.objects.filter(
        patient=patient, state__in=Claim.PAYABLE_STATES
    )
    claims = list(expected_claims.order_by("-care_date")[:SHOWN])
    total_expected = expected_claims.aggregate(
        total=_money_sum(
            Greatest(
                F("amount_expected") - F("amount_received"), Value(Decimal("0.00"))
            )
        )
    )["total"]
    surveys = list(
        SatisfactionSurvey.objects.filter(
            appointment__patient=patient,
            answered_at__isnull=True,
            due_at__lte=now,
            due_at__gt=now - timedelta(days=settings.SURVEY_LINK_DAYS),
        )
        .select_related("appointment__practitioner")
        .order_by("-due_at")[:SHOWN]
    )
    return {
        "next_appointment": next_appointment,
        "surveys": surveys,
        "can_join": next_appointment is not None
        and join_window_open(next_appointment, now=now),
        "join_url": join_url(next_appointment) if next_appointment else "",
        "proposals": proposals,
        "care_requests": requests,
        "waiting_messages": waiting_messages,
        "documents": documents,
        "invoices_due": invoices_due,
        "total_due": total_due,
        "claims": claims,
        "total_expected": total_expected,
    }


@login_required
@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff:
        return redirect("admin:index")
    patient = viewing.current_patient(request)
    if patient is None and cast(User, request.user).has_role(Role.PRACTITIONER):
        return redirect("appointments:practitioner")
    context: dict = {"patient": patient}
    if patient is not None:
        context.update(_dashboard_blocks(request, patient))
    return render(request, "portal/dashboard.html", context)
