"""The portal: lists and pages of one's own appointments only (another's is 404),
booking from a directory slot, holds, one-click links, the practitioner's agenda."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments import links, services
from appointments.models import Appointment, CalendarFeed, Face, PharmacyChoice
from tests.appointments.factories import (
    AppointmentFactory,
    PharmacyFactory,
    free_slots,
    slot_after,
)
from tests.factories import UserFactory


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


@pytest.fixture
def appointment(patient, practitioner):
    slot = slot_after(practitioner, hours=72)
    return services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=patient.user,
        via=Face.PORTAL,
    )


def test_the_list_needs_signing_in(client):
    response = client.get(reverse("appointments:index"))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_list_shows_my_appointments_only(
    client, patient, other_patient, appointment
):
    theirs = AppointmentFactory(patient=other_patient)
    client.force_login(patient.user)

    response = client.get(reverse("appointments:index"))

    assert response.status_code == 200
    assert str(appointment.public_id).encode() in response.content
    assert str(theirs.public_id).encode() not in response.content


def test_another_patients_appointment_is_404(client, other_patient_user, appointment):
    client.force_login(other_patient_user)

    for name in ("detail", "prepare", "calendar"):
        url = reverse(
            f"appointments:{name}", kwargs={"public_id": appointment.public_id}
        )
        assert client.get(url).status_code == 404
    cancel = reverse("appointments:cancel", kwargs={"public_id": appointment.public_id})
    assert client.post(cancel, {"reason": "x"}).status_code == 404
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.BOOKED


def test_i_confirm_and_cancel_from_my_appointment_page(client, patient, appointment):
    client.force_login(patient.user)
    kwargs = {"public_id": appointment.public_id}

    assert client.get(reverse("appointments:detail", kwargs=kwargs)).status_code == 200
    client.post(reverse("appointments:confirm", kwargs=kwargs))
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.CONFIRMED

    client.post(reverse("appointments:cancel", kwargs=kwargs), {"reason": "Voyage"})
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.CANCELLED


def test_i_move_my_appointment_to_a_listed_slot(
    client, patient, practitioner, appointment
):
    client.force_login(patient.user)
    next_day = timezone.localtime(appointment.starts_at).replace(
        hour=0, minute=0
    ) + timedelta(days=1)
    target = free_slots(
        practitioner, kind=appointment.consultation_kind, after=next_day, days=1
    )[0]

    response = client.post(
        reverse("appointments:reschedule", kwargs={"public_id": appointment.public_id}),
        {"starts_at": target.starts_at.isoformat(), "reason": "Travail"},
    )

    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.RESCHEDULED
    new = appointment.rescheduled_to
    assert new.starts_at == target.starts_at
    assert response["Location"] == new.get_absolute_url()


def test_the_directory_links_a_slot_to_its_booking_page(client, practitioner):
    response = client.get(practitioner.get_absolute_url())

    booking = reverse("appointments:book", kwargs={"public_id": practitioner.public_id})
    assert booking.encode() in response.content


def test_booking_from_the_directory_holds_then_books(client, patient, practitioner):
    client.force_login(patient.user)
    slot = slot_after(practitioner, hours=30)
    url = reverse("appointments:book", kwargs={"public_id": practitioner.public_id})
    query = {"starts_at": slot.starts_at.isoformat(), "kind": slot.kind}

    assert client.get(url, query).status_code == 200
    held = client.post(
        f"{url}?starts_at={slot.starts_at.isoformat().replace('+', '%2B')}"
        f"&kind={slot.kind}",
        {"patient": patient.reference},
    )
    appointment = Appointment.objects.get()
    assert appointment.state == Appointment.State.HELD
    assert held["Location"] == reverse(
        "appointments:hold", kwargs={"public_id": appointment.public_id}
    )

    client.post(held["Location"], {"confirm": "1"})

    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.BOOKED


def test_a_slot_taken_meanwhile_shows_the_next_free_ones(
    client, patient, other_patient, practitioner
):
    slot = slot_after(practitioner, hours=30)
    services.book_appointment(
        patient=other_patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=None,
        via=Face.ADMIN,
    )
    client.force_login(patient.user)
    url = reverse("appointments:book", kwargs={"public_id": practitioner.public_id})

    response = client.post(
        f"{url}?starts_at={slot.starts_at.isoformat().replace('+', '%2B')}"
        f"&kind={slot.kind}",
        {"patient": patient.reference},
    )

    assert response.status_code == 409
    assert response.context["alternatives"]


def test_the_one_click_links_of_a_reminder_confirm_and_cancel(client, appointment):
    confirm = reverse(
        "appointments:act",
        kwargs={
            "token": links.make_token(links.Purpose.ACTION, appointment.public_id, "c")
        },
    )
    cancel = reverse(
        "appointments:act",
        kwargs={
            "token": links.make_token(links.Purpose.ACTION, appointment.public_id, "x")
        },
    )

    assert client.get(confirm).status_code == 200
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.BOOKED  # a GET changes nothing
    client.post(confirm)
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.CONFIRMED

    refused = client.post(cancel, {"reason": ""})
    assert refused.context["form"].errors
    client.post(cancel, {"reason": "Malade"})
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.CANCELLED


def test_a_link_made_for_another_purpose_is_refused(client, appointment):
    token = links.make_token(links.Purpose.ICS, appointment.public_id)

    response = client.get(reverse("appointments:act", kwargs={"token": token}))

    assert response.status_code == 404


def test_the_checklist_page_saves_my_ticks(client, patient, appointment):
    client.force_login(patient.user)
    url = reverse("appointments:prepare", kwargs={"public_id": appointment.public_id})

    assert client.get(url).status_code == 200
    client.post(url, {"done": ["vitale", "ecg"]})

    appointment.refresh_from_db()
    assert appointment.checklist_done == ["ecg", "vitale"]


def test_i_get_and_replace_my_calendar_address(client, patient):
    client.force_login(patient.user)
    url = reverse("appointments:feed-manage", kwargs={"reference": patient.reference})

    client.post(url)
    first = CalendarFeed.objects.active().get(patient=patient)
    client.post(url, {"revoke": "1"})

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert CalendarFeed.objects.active().get(patient=patient).pk != first.pk


def test_i_choose_a_pharmacy(client, patient):
    pharmacy = PharmacyFactory()
    client.force_login(patient.user)

    client.post(
        reverse("appointments:pharmacy", kwargs={"reference": patient.reference}),
        {"choose": "1", "pharmacy": pharmacy.pk},
    )

    assert PharmacyChoice.objects.get(patient=patient).pharmacy == pharmacy


def test_a_practitioner_records_the_outcome_from_their_agenda(client, patient):
    doctor = UserFactory(role="practitioner")
    appointment = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - timedelta(minutes=45)
    )
    appointment.practitioner.user = doctor
    appointment.practitioner.save(update_fields=["user"])
    client.force_login(doctor)
    url = reverse("appointments:practitioner")

    page = client.get(url)
    client.post(url, {"appointment": appointment.public_id, "action": "done"})

    assert page.status_code == 200
    assert patient.full_name.encode() in page.content
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.DONE


def test_someone_without_a_practitioner_profile_has_no_agenda(client, patient):
    client.force_login(patient.user)

    assert client.get(reverse("appointments:practitioner")).status_code == 404
