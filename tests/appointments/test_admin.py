"""The back-office: agenda by day and week, booking on behalf, moving, cancelling,
recording outcomes, proposing slots; every action goes through the services."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, Face, NoShowFlag, SlotProposal
from tests.appointments.factories import AppointmentFactory, free_slots, slot_after


@pytest.fixture
def booked(patient, practitioner):
    slot = slot_after(practitioner, hours=72)
    return services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=None,
        via=Face.ADMIN,
    )


def test_the_agenda_shows_bookings_and_free_slots_by_day_and_week(
    staff_client, coordinator, booked, practitioner
):
    client = staff_client(coordinator)
    url = reverse("admin:appointments_appointment_agenda")
    day = timezone.localtime(booked.starts_at).date().isoformat()

    by_day = client.get(url, {"practitioner": practitioner.pk, "day": day})
    by_week = client.get(
        url, {"practitioner": practitioner.pk, "day": day, "view": "week"}
    )

    assert by_day.status_code == by_week.status_code == 200
    assert booked.patient.reference.encode() in by_day.content
    assert len(by_week.context["days"]) == 7
    kinds = {row[0] for _day, rows in by_day.context["days"] for row in rows}
    assert kinds == {"booking", "free"}


def test_a_coordinator_books_on_a_patients_behalf(
    staff_client, coordinator, patient, practitioner
):
    client = staff_client(coordinator)
    slot = slot_after(practitioner, hours=50)

    response = client.post(
        reverse("admin:appointments_appointment_book"),
        {
            "patient": patient.reference,
            "practitioner": practitioner.pk,
            "kind": slot.kind,
            "starts_at": timezone.localtime(slot.starts_at).strftime("%Y-%m-%d %H:%M"),
            "note": "Préfère le matin",
        },
    )

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert appointment.booked_by == coordinator
    assert appointment.booked_via == Face.ADMIN
    assert appointment.concierge_note == "Préfère le matin"


def test_booking_a_taken_slot_in_the_back_office_lists_alternatives(
    staff_client, coordinator, booked, other_patient, practitioner
):
    client = staff_client(coordinator)

    response = client.post(
        reverse("admin:appointments_appointment_book"),
        {
            "patient": other_patient.reference,
            "practitioner": practitioner.pk,
            "kind": booked.consultation_kind,
            "starts_at": timezone.localtime(booked.starts_at).strftime(
                "%Y-%m-%d %H:%M"
            ),
        },
    )

    assert response.status_code == 200
    assert response.context["alternatives"]
    assert Appointment.objects.count() == 1


def test_the_concierge_moves_and_cancels_from_the_appointment_page(
    staff_client, coordinator, booked, practitioner
):
    client = staff_client(coordinator)
    target = free_slots(practitioner, after=booked.ends_at, days=2)[1]

    client.post(
        reverse("admin:appointments_appointment_reschedule", args=[booked.pk]),
        {
            "starts_at": timezone.localtime(target.starts_at).strftime(
                "%Y-%m-%d %H:%M"
            ),
            "reason": "Le patient a appelé",
        },
    )
    booked.refresh_from_db()
    new = booked.rescheduled_to
    client.post(
        reverse("admin:appointments_appointment_cancel", args=[new.pk]),
        {"reason": "Hospitalisé"},
    )

    new.refresh_from_db()
    assert booked.state == Appointment.State.RESCHEDULED
    assert new.state == Appointment.State.CANCELLED


def test_the_no_show_action_records_and_flags(
    staff_client, coordinator, patient, settings
):
    settings.APPOINTMENT_NO_SHOW_THRESHOLD = 1
    missed = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - timedelta(hours=3)
    )
    client = staff_client(coordinator)

    client.post(
        reverse("admin:appointments_appointment_changelist"),
        {"action": "record_no_shows", "_selected_action": [missed.pk]},
    )

    missed.refresh_from_db()
    assert missed.state == Appointment.State.NO_SHOW
    assert NoShowFlag.objects.raised().filter(patient=patient).exists()
    page = client.get(
        reverse("admin:appointments_appointment_change", args=[missed.pk])
    )
    assert page.context["flagged"] is True


def test_the_cancel_action_asks_for_a_reason(staff_client, coordinator, booked):
    client = staff_client(coordinator)
    url = reverse("admin:appointments_appointment_changelist")

    form = client.post(
        url, {"action": "cancel_selected", "_selected_action": [booked.pk]}
    )
    client.post(
        url,
        {
            "action": "cancel_selected",
            "_selected_action": [booked.pk],
            "apply": "1",
            "reason": "Le cabinet ferme",
        },
    )

    assert form.status_code == 200
    booked.refresh_from_db()
    assert booked.state == Appointment.State.CANCELLED
    assert booked.cancellation_reason == "Le cabinet ferme"


def test_a_manager_reads_but_cannot_book(staff_client, manager, booked):
    client = staff_client(manager)

    assert (
        client.get(reverse("admin:appointments_appointment_changelist")).status_code
        == 200
    )
    assert client.get(reverse("admin:appointments_appointment_book")).status_code == 403


def test_proposing_slots_from_the_back_office(
    staff_client, coordinator, patient, practitioner
):
    client = staff_client(coordinator)
    url = reverse("admin:appointments_slotproposal_propose")
    page = client.get(url, {"practitioner": practitioner.pk, "kind": "first_visit"})
    [(_practitioner, slots)] = page.context["options"]

    client.post(
        url,
        {
            "practitioner": practitioner.pk,
            "kind": "first_visit",
            "patient": patient.reference,
            "slot": [
                f"{practitioner.pk}|{slot.starts_at.isoformat()}" for slot in slots[:3]
            ],
            "message": "Voici trois créneaux.",
        },
    )

    proposal = SlotProposal.objects.get()
    assert proposal.slots.count() == 3
    assert proposal.created_by == coordinator


def test_an_adviser_sends_the_summary_after_a_phone_consent(
    staff_client, adviser, booked
):
    from appointments.models import PreConsultationShare

    client = staff_client(adviser)

    client.post(
        reverse("admin:appointments_appointment_changelist"),
        {"action": "share_summary", "_selected_action": [booked.pk]},
    )

    share = PreConsultationShare.objects.get()
    assert share.consent_by == adviser
    assert share.consent_channel == Face.ADMIN
    assert share.include_summary


def test_a_coordinator_cannot_share_medical_data(staff_client, coordinator, booked):
    from appointments.models import PreConsultationShare

    client = staff_client(coordinator)

    client.post(
        reverse("admin:appointments_appointment_changelist"),
        {"action": "share_summary", "_selected_action": [booked.pk]},
    )

    assert not PreConsultationShare.objects.exists()
