"""The back-office: the day's sessions with their live state, and the actions."""

from django.urls import reverse

from conciergerie.notifications.models import Message
from teleconsult.models import PractitionerPass, TeleconsultationSession
from tests.teleconsult.conftest import make_video_appointment


def test_the_list_shows_todays_sessions_by_default(staff_client, coordinator, patient):
    today = make_video_appointment(patient=patient).teleconsultation
    later = make_video_appointment(patient=patient, starts_in=60 * 24 * 3)
    client = staff_client(coordinator)
    url = reverse("admin:teleconsult_teleconsultationsession_changelist")

    default = client.get(url)
    everything = client.get(url, {"day": "all"})

    assert default.status_code == 200
    assert list(default.context["cl"].result_list) == [today]
    assert set(everything.context["cl"].result_list) == {
        today,
        later.teleconsultation,
    }
    assert b'http-equiv="refresh"' in default.content


def test_a_session_page_shows_its_timeline(staff_client, coordinator, session):
    client = staff_client(coordinator)

    response = client.get(
        reverse("admin:teleconsult_teleconsultationsession_change", args=[session.pk])
    )

    assert response.status_code == 200
    assert session.room.encode() in response.content


def test_a_new_practitioner_link_replaces_the_old_one(
    staff_client, coordinator, session
):
    client = staff_client(coordinator)
    first = PractitionerPass.objects.get(session=session)

    client.post(
        reverse("admin:teleconsult_teleconsultationsession_changelist"),
        {"action": "send_new_practitioner_link", "_selected_action": [session.pk]},
    )

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert (
        PractitionerPass.objects.filter(
            session=session, revoked_at__isnull=True
        ).count()
        == 1
    )
    assert (
        Message.objects.filter(
            template="teleconsult/messages/practitioner_link"
        ).count()
        == 2
    )


def test_a_patient_cannot_open_the_back_office_list(client, patient_user):
    client.force_login(patient_user)

    response = client.get(
        reverse("admin:teleconsult_teleconsultationsession_changelist")
    )

    assert response.status_code == 302
    assert TeleconsultationSession.objects.count() == 0
