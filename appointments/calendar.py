"""iCalendar files: one appointment for the patient's calendar, and private feeds.

An appointment keeps one UID for its whole life, moves included: a move raises
the SEQUENCE (calendars replace the event), a cancellation raises it again and
is sent with METHOD:CANCEL (calendars remove it). Events carry no medical
details: the practitioner's name, the place or the video link, the time.
"""

from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from . import links
from .models import Appointment

PRODID = "-//Conciergerie//Appointments//FR"
PATIENT = "patient"
PRACTITIONER = "practitioner"
#: How far back a feed shows past appointments.
FEED_HISTORY = timedelta(days=90)


def _domain() -> str:
    return urlparse(settings.SITE_URL).hostname or "conciergerie.local"


def uid(appointment: Appointment) -> str:
    return f"{appointment.ics_uid}@{_domain()}"


def _status(appointment: Appointment) -> str:
    if appointment.state in Appointment.CANCELLED_STATES:
        return "CANCELLED"
    if appointment.state == Appointment.State.HELD:
        return "TENTATIVE"
    return "CONFIRMED"


def _location(appointment: Appointment) -> str:
    if appointment.is_video:
        return _("Video consultation: %(link)s") % {
            "link": links.absolute(appointment.get_absolute_url())
        }
    place = appointment.place
    if place is None:
        return ""
    parts = [place.name, place.address, place.address_complement]
    parts.append(f"{place.postal_code} {place.commune}")
    return ", ".join(part.strip() for part in parts if part and part.strip())


def event_for(appointment: Appointment, *, audience: str = PATIENT) -> Event:
    event = Event()
    event.add("uid", uid(appointment))
    event.add("sequence", appointment.ics_sequence)
    event.add("dtstamp", timezone.now())
    event.add("created", appointment.created_at)
    event.add("last-modified", appointment.updated_at)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("status", _status(appointment))
    event.add("transp", "OPAQUE")
    link = links.absolute(appointment.get_absolute_url())
    if audience == PRACTITIONER:
        patient = appointment.patient
        event.add(
            "summary",
            _("Consultation: %(patient)s (%(reference)s)")
            % {"patient": patient.full_name, "reference": patient.reference},
        )
    else:
        event.add(
            "summary",
            _("Appointment with %(practitioner)s")
            % {"practitioner": appointment.practitioner.display_name},
        )
        event.add("url", link)
        event.add(
            "description",
            _(
                "To confirm, cancel or move this appointment, and to see what to "
                "bring: %(link)s"
            )
            % {"link": link},
        )
        alarm_description = _("Appointment with %(practitioner)s") % {
            "practitioner": appointment.practitioner.display_name
        }
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", alarm_description)
        alarm.add("trigger", timedelta(hours=-2))
        event.add_component(alarm)
    event.add("location", vText(_location(appointment)))
    organizer = vCalAddress(f"mailto:{settings.SERVICE_EMAIL}")
    organizer.params["cn"] = vText(settings.SERVICE_NAME)
    event.add("organizer", organizer)
    return event


def _calendar(method: str, name: str = "") -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    return calendar


def appointment_ics(appointment: Appointment, *, language: str | None = None) -> bytes:
    """One appointment: METHOD:REQUEST while it stands, METHOD:CANCEL once cancelled."""
    language = language or appointment.patient.preferred_language or "fr"
    with translation.override(language):
        cancelled = appointment.state in Appointment.CANCELLED_STATES
        calendar = _calendar("CANCEL" if cancelled else "REQUEST")
        calendar.add_component(event_for(appointment))
        return calendar.to_ical()


def feed_appointments(*, patient=None, practitioner=None):
    """What a feed shows: upcoming and recent appointments, cancelled ones marked
    so (a moved appointment shows once, at its new time)."""
    since = timezone.now() - FEED_HISTORY
    rows = Appointment.objects.filter(ends_at__gte=since).exclude(
        state__in=[
            Appointment.State.HELD,
            Appointment.State.EXPIRED,
            Appointment.State.RESCHEDULED,
        ]
    )
    if patient is not None:
        rows = rows.filter(patient=patient)
    else:
        rows = rows.filter(practitioner=practitioner)
    return rows.select_related("practitioner", "patient", "place").order_by("starts_at")


def feed_ics(
    appointments: Iterable[Appointment], *, audience: str, name: str, language: str
) -> bytes:
    with translation.override(language):
        calendar = _calendar("PUBLISH", name)
        for appointment in appointments:
            calendar.add_component(event_for(appointment, audience=audience))
        return calendar.to_ical()
