"""Calendar files: one event per appointment with a stable UID, a SEQUENCE raised
by moves and cancellations, METHOD:CANCEL once cancelled; private feeds that a
revoked token no longer opens."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from appointments import calendar, links, services
from appointments.models import Face
from tests.appointments.factories import free_slots, slot_after
from tests.factories import UserFactory


def book(patient, practitioner, slot):
    return services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=patient.user,
        via=Face.PORTAL,
    )


def parse(content: bytes):
    parsed = Calendar.from_ical(content)
    return parsed, list(parsed.walk("VEVENT"))


def test_the_calendar_file_describes_the_appointment_without_medical_details(
    patient, practitioner
):
    appointment = book(patient, practitioner, slot_after(practitioner))

    parsed, [event] = parse(calendar.appointment_ics(appointment))

    assert parsed["METHOD"] == "REQUEST"
    assert str(event["UID"]).startswith(str(appointment.ics_uid))
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == appointment.starts_at
    assert event.decoded("DTEND") == appointment.ends_at
    assert event["STATUS"] == "CONFIRMED"
    assert practitioner.last_name in str(event["SUMMARY"])
    assert appointment.place.address in str(event["LOCATION"])
    assert "ardiolog" not in calendar.appointment_ics(appointment).decode()
    assert list(event.walk("VALARM"))


def test_a_video_appointment_points_to_its_page(patient, practitioner):
    appointment = book(
        patient, practitioner, slot_after(practitioner, kind="teleconsultation")
    )

    _parsed, [event] = parse(calendar.appointment_ics(appointment))

    assert str(appointment.public_id) in str(event["LOCATION"])


def test_a_move_keeps_the_uid_and_raises_the_sequence(patient, practitioner):
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=4))
    old = book(patient, practitioner, slots[0])
    _parsed, [before] = parse(calendar.appointment_ics(old))

    new = services.reschedule_appointment(
        appointment=old,
        starts_at=slots[2].starts_at,
        by=patient.user,
        via=Face.PORTAL,
        reason="Travail",
    )
    _parsed, [after] = parse(calendar.appointment_ics(new))

    assert after["UID"] == before["UID"]
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after.decoded("DTSTART") == slots[2].starts_at


def test_a_cancellation_is_sent_as_method_cancel(patient, practitioner):
    appointment = book(patient, practitioner, slot_after(practitioner, hours=96))
    _parsed, [before] = parse(calendar.appointment_ics(appointment))

    services.cancel_appointment(
        appointment=appointment, by=patient.user, via=Face.PORTAL, reason="Voyage"
    )
    appointment.refresh_from_db()
    parsed, [event] = parse(calendar.appointment_ics(appointment))

    assert parsed["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == before["UID"]
    assert int(event["SEQUENCE"]) > int(before["SEQUENCE"])


def test_the_signed_calendar_link_of_messages_downloads_the_file(
    client, patient, practitioner
):
    appointment = book(patient, practitioner, slot_after(practitioner))
    url = links.url("appointments:ics", links.Purpose.ICS, appointment.public_id)

    response = client.get(url.removeprefix("http://127.0.0.1:8000"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert parse(response.content)[1]


def test_a_forged_calendar_link_is_refused(client, patient, practitioner):
    appointment = book(patient, practitioner, slot_after(practitioner))
    token = links.make_token(links.Purpose.ICS, appointment.public_id)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    response = client.get(reverse("appointments:ics", kwargs={"token": forged}))

    assert response.status_code == 404


def test_the_patients_feed_lists_their_appointments_until_revoked(
    client, patient, practitioner
):
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=4))
    kept = book(patient, practitioner, slots[0])
    cancelled = book(patient, practitioner, slots[2])
    services.cancel_appointment(
        appointment=cancelled, by=patient.user, via=Face.PORTAL, reason="Voyage"
    )
    feed = services.calendar_feed(patient=patient, by=patient.user)
    path = services.feed_url(feed).removeprefix("http://127.0.0.1:8000")

    response = client.get(path)

    assert response.status_code == 200
    _parsed, events = parse(response.content)
    statuses = {
        str(event["UID"]).split("@")[0]: str(event["STATUS"]) for event in events
    }
    assert statuses == {
        str(kept.ics_uid): "CONFIRMED",
        str(cancelled.ics_uid): "CANCELLED",
    }

    services.revoke_feed(feed=feed, by=patient.user)
    assert client.get(path).status_code == 410
    fresh = services.calendar_feed(patient=patient, by=patient.user)
    assert fresh.pk != feed.pk
    assert services.feed_url(fresh) != services.feed_url(feed)


def test_the_practitioners_feed_names_the_patients(client, patient, practitioner):
    book(patient, practitioner, slot_after(practitioner))
    doctor = practitioner.user = UserFactory(role="practitioner")
    practitioner.save(update_fields=["user"])
    feed = services.calendar_feed(practitioner=practitioner, by=doctor)

    response = client.get(services.feed_url(feed).removeprefix("http://127.0.0.1:8000"))

    _parsed, [event] = parse(response.content)
    assert patient.reference in str(event["SUMMARY"])


def test_nobody_else_manages_a_patients_feed(patient, other_patient_user):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.calendar_feed(patient=patient, by=other_patient_user)
