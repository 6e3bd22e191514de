"""Where appointments meet care requests (patients.CareRequest).

Booking moves the appointment's request to `scheduled`, the consultation to
`in_care`, the report to `follow_up`; a cancelled or missed appointment sends the
request back to the search. The request's own state machine decides: a second
appointment of a request already in care (a follow-up exam) moves nothing. These
functions run inside the appointment's transaction, so that the two change
together or not at all. An appointment outside any request changes nothing.

Closing a request waits for its pending appointments (`pending_appointments`,
registered with the care requests' open-items check).
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from patients.models import CareRequest
from patients.services import care_requests

from .models import Appointment


def _request_of(appointment: Appointment) -> CareRequest | None:
    if appointment.care_request_id is None:
        return None
    return CareRequest.objects.get(pk=appointment.care_request_id)


def _reference(appointment: Appointment) -> str:
    return str(appointment.public_id)


def _when(appointment: Appointment) -> str:
    return timezone.localtime(appointment.starts_at).strftime("%d/%m/%Y %H:%M")


def check_bookable(care_request: CareRequest | None, patient) -> None:
    """A booking may belong to an open request of the same patient only."""
    if care_request is None:
        return
    if care_request.patient_id != patient.pk:
        raise ValidationError(
            {
                "care_request": ValidationError(
                    _("This care request is another patient's."),
                    code="foreign_care_request",
                )
            }
        )
    if care_request.state in CareRequest.FINAL_STATES:
        raise ValidationError(
            {
                "care_request": ValidationError(
                    _("This care request is closed."), code="care_request_closed"
                )
            }
        )


def appointment_booked(appointment: Appointment, *, by) -> None:
    """The request waiting for an appointment is scheduled."""
    request = _request_of(appointment)
    if request is None or not can_proceed(request.schedule):
        return
    care_requests.mark_scheduled(
        care_request=request,
        by=_user(by),
        appointment_reference=_reference(appointment),
        comment=_("Appointment with %(practitioner)s on %(when)s.")
        % {
            "practitioner": appointment.practitioner.display_name,
            "when": _when(appointment),
        },
    )


def appointment_rescheduled(old: Appointment, new: Appointment, *, by) -> None:
    """A move keeps the request scheduled, now waiting for the new appointment."""
    if new.care_request_id is None:
        return
    CareRequest.objects.filter(
        pk=new.care_request_id, appointment_reference=_reference(old)
    ).update(appointment_reference=_reference(new), updated_at=timezone.now())


def _fell_through(appointment: Appointment, *, by, comment: str) -> None:
    request = _request_of(appointment)
    if request is None:
        return
    care_requests.mark_unscheduled(
        care_request=request,
        by=_user(by),
        appointment_reference=_reference(appointment),
        comment=comment,
    )


def appointment_cancelled(appointment: Appointment, *, by) -> None:
    """The request's appointment is cancelled: the concierge looks for another."""
    _fell_through(
        appointment,
        by=by,
        comment=_("Appointment of %(when)s cancelled: %(reason)s")
        % {"when": _when(appointment), "reason": appointment.cancellation_reason},
    )


def appointment_missed(appointment: Appointment, *, by) -> None:
    """The patient did not come: the request needs another appointment."""
    _fell_through(
        appointment,
        by=by,
        comment=_("The patient did not come to the appointment of %(when)s.")
        % {"when": _when(appointment)},
    )


def appointment_done(appointment: Appointment, *, by) -> None:
    """The consultation took place: the request is in care."""
    request = _request_of(appointment)
    if request is None or not can_proceed(request.start_care):
        return
    care_requests.mark_care_started(
        care_request=request,
        by=_user(by),
        comment=_("Consultation with %(practitioner)s on %(when)s.")
        % {
            "practitioner": appointment.practitioner.display_name,
            "when": _when(appointment),
        },
    )


def report_received(appointment: Appointment, *, by) -> None:
    """The practitioner's report is in: the request moves to follow-up."""
    request = _request_of(appointment)
    if request is None or not can_proceed(request.start_follow_up):
        return
    care_requests.mark_follow_up(
        care_request=request,
        by=_user(by),
        comment=_("Report of %(practitioner)s received.")
        % {"practitioner": appointment.practitioner.display_name},
    )


def _user(by):
    return by if by is not None and by.is_authenticated else None


def pending_appointments(
    care_request: CareRequest,
) -> Iterable[care_requests.OpenItem]:
    """Open items of a request: appointments still held, booked or confirmed."""
    rows = (
        Appointment.objects.filter(
            care_request=care_request, state__in=Appointment.ACTIVE_STATES
        )
        .select_related("practitioner")
        .order_by("starts_at")
    )
    for appointment in rows:
        yield care_requests.OpenItem(
            "appointment",
            _("appointment of %(when)s with %(practitioner)s not yet done")
            % {
                "when": _when(appointment),
                "practitioner": appointment.practitioner.display_name,
            },
            _reference(appointment),
        )


def register() -> None:
    """Closing a care request waits for its pending appointments."""
    care_requests.register_open_items_provider("appointments", pending_appointments)
