"""Where appointments meet care requests (patients.CareRequest).

Booking moves the appointment's request to `scheduled`, the consultation moves it
to `in_care`, the report to `follow_up`; an appointment outside any request
changes nothing. These functions run inside the appointment's transaction.
"""


def _request_of(appointment):
    return getattr(appointment, "care_request", None)


def appointment_booked(appointment, *, by) -> None:
    """The request of a booked appointment is scheduled."""
    if _request_of(appointment) is None:
        return


def appointment_rescheduled(old, new, *, by) -> None:
    """A move keeps the request where it is."""
    if _request_of(new) is None:
        return


def appointment_cancelled(appointment, *, by) -> None:
    """A cancelled appointment leaves its request for the concierge to re-plan."""
    if _request_of(appointment) is None:
        return


def appointment_missed(appointment, *, by) -> None:
    if _request_of(appointment) is None:
        return


def appointment_done(appointment, *, by) -> None:
    """The consultation took place: the request is in care."""
    if _request_of(appointment) is None:
        return


def report_received(appointment, *, by) -> None:
    """The report is in: the request moves to follow-up."""
    if _request_of(appointment) is None:
        return
