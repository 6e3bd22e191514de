"""Satisfaction surveys: queued when a visit is done, sent after the delay with a
signed link, answered once (from the link or the portal), moderated into a
practitioner review, and a low score calls a manager back to the patient."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments import surveys
from appointments.models import Face, SatisfactionSurvey
from appointments.services import mark_done
from conciergerie.accounts.roles import Role
from conciergerie.audit.models import AccessLog
from conciergerie.notifications.models import Message
from patients.models import CareRequest, CareTask
from specialists.models import Review
from tests.appointments.conftest import error_codes
from tests.appointments.factories import AppointmentFactory
from tests.factories import UserFactory
from tests.patients.factories import CareRequestFactory

GOOD = {"satisfaction": 5, "recommend": 10, "practitioner_rating": 5}
POOR = {"satisfaction": 2, "recommend": 8, "practitioner_rating": 3}


def path_of(url: str) -> str:
    return url[url.index("/", len("https://")) :]


@pytest.fixture
def visit(patient):
    """A consultation that started forty minutes ago, inside a care request."""
    request = CareRequestFactory(patient=patient, state=CareRequest.State.SCHEDULED)
    return AppointmentFactory(
        patient=patient,
        care_request=request,
        starts_at=timezone.now() - timedelta(minutes=40),
    )


@pytest.fixture
def done(visit, coordinator, django_capture_on_commit_callbacks):
    """The visit marked done; the invitation task runs after the commit."""
    with django_capture_on_commit_callbacks(execute=True):
        mark_done(appointment=visit, by=coordinator, via=Face.ADMIN)
    return SatisfactionSurvey.objects.get(appointment=visit)


def test_marking_a_visit_done_queues_one_survey_sent_after_the_delay(
    visit, coordinator, settings, django_capture_on_commit_callbacks
):
    settings.SURVEY_DELAY_HOURS = 48
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        mark_done(appointment=visit, by=coordinator, via=Face.ADMIN)

    survey = SatisfactionSurvey.objects.get(appointment=visit)
    visit.refresh_from_db()
    assert survey.due_at == visit.done_at + timedelta(hours=48)
    assert callbacks, "the invitation task is enqueued after the commit"
    messages = Message.objects.filter(template=surveys.TEMPLATE)
    assert {m.channel for m in messages} == {"email", "sms"}
    message = messages.get(channel="email")
    assert message.to == visit.patient.email
    # Quiet hours may push it later, never earlier.
    assert message.due_at >= survey.due_at
    assert survey.sent_at == message.due_at
    assert "/appointments/s/" in message.context["survey_url"]


def test_queueing_twice_makes_one_survey_and_one_invitation(
    done, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        again = surveys.queue_survey(done.appointment)

    assert again.pk == done.pk
    assert SatisfactionSurvey.objects.count() == 1
    assert surveys.send_survey(survey_id=done.pk) == 0
    assert Message.objects.filter(template=surveys.TEMPLATE).count() == 2


def test_an_sms_patient_gets_a_short_invitation(
    visit, coordinator, django_capture_on_commit_callbacks
):
    visit.patient.reminder_channel = "sms"
    visit.patient.save(update_fields=["reminder_channel"])

    with django_capture_on_commit_callbacks(execute=True):
        mark_done(appointment=visit, by=coordinator, via=Face.ADMIN)

    message = Message.objects.get(template=surveys.TEMPLATE)
    assert message.channel == "sms"
    assert len(message.context["survey_url"]) < 120
    assert message.to == visit.patient.mobile_phone.as_e164


def test_an_appointment_that_did_not_take_place_gets_no_survey(patient):
    future = AppointmentFactory(patient=patient)
    missed = AppointmentFactory(
        patient=patient,
        starts_at=timezone.now() - timedelta(days=2),
        state="no_show",
    )

    assert surveys.queue_survey(future) is None
    assert surveys.queue_survey(missed) is None
    assert not SatisfactionSurvey.objects.exists()


def test_a_teleconsultation_that_ended_can_queue_its_survey(patient):
    # The video session ends before anyone records the outcome: teleconsult calls
    # queue_survey on a confirmed appointment whose time has come.
    video = AppointmentFactory(
        patient=patient,
        starts_at=timezone.now() - timedelta(minutes=45),
        state="confirmed",
        consultation_kind="teleconsultation",
    )

    survey = surveys.queue_survey(video)

    assert survey is not None
    assert survey.due_at == video.ends_at + timedelta(hours=24)


# --- Answering ------------------------------------------------------------------------


def test_the_signed_link_shows_the_form_without_signing_in(client, done):
    response = client.get(path_of(surveys.survey_url(done)))

    assert response.status_code == 200
    assert "satisfaction" in response.content.decode()


def test_answering_from_the_link_records_once(client, done):
    url = path_of(surveys.survey_url(done))

    response = client.post(url, {**GOOD, "comment": "Très bien reçue."})
    assert response.status_code == 200
    done.refresh_from_db()
    assert done.answered_at is not None
    assert done.answered_via == "link"
    assert (done.satisfaction, done.recommend, done.practitioner_rating) == (5, 10, 5)
    assert not done.low_score

    again = client.post(url, {**POOR})
    assert again.status_code == 200
    done.refresh_from_db()
    assert done.satisfaction == 5
    assert "déjà" in again.content.decode()
    with pytest.raises(ValidationError) as caught:
        surveys.answer_survey(survey=done, **POOR)
    assert error_codes(caught.value) == {"already_answered"}


def test_bad_input_redisplays_the_form_in_french(client, done):
    response = client.post(
        path_of(surveys.survey_url(done)), {"satisfaction": "9", "recommend": ""}
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "Sélectionnez un choix valide" in body or "choix valide" in body
    assert "Choisissez une note de 0 à 10" in body
    done.refresh_from_db()
    assert done.answered_at is None


def test_a_forged_or_expired_link_is_refused(client, done, settings):
    token = surveys.make_token(done)
    forged = reverse("appointments:survey-link", kwargs={"token": token[:-2] + "xx"})
    assert client.get(forged).status_code == 404

    assert (
        client.get(
            reverse("appointments:survey-link", kwargs={"token": token})
        ).status_code
        == 200
    )
    settings.SURVEY_LINK_DAYS = -1
    expired = client.get(reverse("appointments:survey-link", kwargs={"token": token}))
    assert expired.status_code == 410


def test_the_comment_is_encrypted_at_rest(done):
    surveys.answer_survey(survey=done, comment="Mon diabète a été bien suivi.", **GOOD)

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT comment FROM appointments_satisfactionsurvey WHERE id = %s",
            [done.pk],
        )
        stored = cursor.fetchone()[0]
    assert "diabète" not in stored
    done.refresh_from_db()
    assert done.comment == "Mon diabète a été bien suivi."


def test_the_patient_answers_from_the_portal(client, done, patient_user):
    client.force_login(patient_user)
    url = reverse(
        "appointments:survey", kwargs={"public_id": done.appointment.public_id}
    )

    assert client.get(url).status_code == 200
    client.post(url, GOOD)

    done.refresh_from_db()
    assert done.answered_via == "portal"
    # Answered from the portal: the waiting invitation is not sent any more.
    assert not Message.objects.filter(
        template=surveys.TEMPLATE, state__in=["pending", "queued"]
    ).exists()


def test_the_appointment_page_invites_to_answer_until_answered(
    client, done, patient_user
):
    client.force_login(patient_user)
    detail = reverse(
        "appointments:detail", kwargs={"public_id": done.appointment.public_id}
    )
    survey = reverse(
        "appointments:survey", kwargs={"public_id": done.appointment.public_id}
    )

    assert survey in client.get(detail).content.decode()
    surveys.answer_survey(survey=done, **GOOD)
    assert survey not in client.get(detail).content.decode()


def test_another_patient_cannot_open_the_survey(client, done, other_patient):
    client.force_login(other_patient.user)
    url = reverse(
        "appointments:survey", kwargs={"public_id": done.appointment.public_id}
    )

    assert client.get(url).status_code == 404


# --- Low scores -----------------------------------------------------------------------


def test_a_low_score_opens_a_call_back_task_for_a_manager(done, manager):
    survey = surveys.answer_survey(survey=done, **POOR)

    assert survey.low_score
    task = survey.follow_up_task
    assert task is not None
    assert task.owner == manager
    assert task.kind == CareTask.Kind.FOLLOW_UP_CALL
    assert task.care_request == done.appointment.care_request
    assert task.is_open


@pytest.mark.parametrize(
    ("satisfaction", "recommend", "low"),
    [(3, 7, False), (2, 10, True), (5, 6, True), (3, 6, True), (4, 9, False)],
)
def test_the_thresholds_come_from_the_settings(satisfaction, recommend, low):
    assert surveys.is_low_score(satisfaction=satisfaction, recommend=recommend) is low


def test_a_low_score_outside_any_request_stays_flagged_for_the_admin(patient, manager):
    visit = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - timedelta(hours=2), state="done"
    )
    survey = surveys.queue_survey(visit)

    survey = surveys.answer_survey(survey=survey, satisfaction=1, recommend=0)

    assert survey.low_score
    assert survey.follow_up_task is None


# --- Moderation -----------------------------------------------------------------------


def test_publishing_turns_the_rating_into_one_published_review(done, manager):
    surveys.answer_survey(
        survey=done, comment="Accueil chaleureux.", may_publish_comment=True, **GOOD
    )

    surveys.publish_survey_review(survey=done, by=manager)
    surveys.publish_survey_review(survey=done, by=manager)

    review = Review.objects.get()
    assert review.state == Review.State.PUBLISHED
    assert review.rating == 5
    assert review.source_reference == f"survey:{done.public_id}"
    # A manager cannot read the comment (it may hold health data): not copied.
    assert review.comment == ""
    done.refresh_from_db()
    assert done.moderation == SatisfactionSurvey.Moderation.PUBLISHED
    assert done.review == review
    review.practitioner.refresh_from_db()
    assert review.practitioner.rating_count == 1


def test_a_medical_adviser_publishes_the_comment_the_patient_allowed(done, adviser):
    surveys.answer_survey(
        survey=done, comment="Accueil chaleureux.", may_publish_comment=True, **GOOD
    )

    surveys.publish_survey_review(survey=done, by=adviser)

    assert Review.objects.get().comment == "Accueil chaleureux."


def test_a_comment_not_allowed_for_publication_stays_private(done, adviser):
    surveys.answer_survey(survey=done, comment="Rien à signaler.", **GOOD)

    surveys.publish_survey_review(survey=done, by=adviser)

    assert Review.objects.get().comment == ""


def test_rejecting_withdraws_a_published_review(done, manager):
    surveys.answer_survey(survey=done, **GOOD)
    surveys.publish_survey_review(survey=done, by=manager)

    surveys.reject_survey_review(survey=done, by=manager, reason="Hors sujet")

    done.refresh_from_db()
    assert done.moderation == SatisfactionSurvey.Moderation.REJECTED
    assert Review.objects.get().state == Review.State.REJECTED


def test_an_unanswered_survey_cannot_be_published(done, manager):
    with pytest.raises(ValidationError) as caught:
        surveys.publish_survey_review(survey=done, by=manager)
    assert error_codes(caught.value) == {"nothing_to_publish"}


# --- Admin ----------------------------------------------------------------------------


def test_the_admin_lists_filters_and_moderates(staff_client, done, manager):
    surveys.answer_survey(survey=done, **POOR)
    client = staff_client(manager)
    url = reverse("admin:appointments_satisfactionsurvey_changelist")

    assert client.get(url).status_code == 200
    assert client.get(url, {"answered": "low"}).status_code == 200
    response = client.post(
        url, {"action": "publish_reviews", "_selected_action": [done.pk]}
    )

    assert response.status_code == 302
    assert Review.objects.get().state == Review.State.PUBLISHED


def test_a_coordinator_cannot_moderate_nor_read_the_comment(staff_client, done):
    surveys.answer_survey(survey=done, comment="Mon traitement me fatigue.", **GOOD)
    coordinator = UserFactory(role=Role.CARE_COORDINATOR)
    client = staff_client(coordinator)

    page = client.get(
        reverse("admin:appointments_satisfactionsurvey_change", args=[done.pk])
    )
    assert page.status_code == 200
    assert "Mon traitement" not in page.content.decode()
    client.post(
        reverse("admin:appointments_satisfactionsurvey_changelist"),
        {"action": "publish_reviews", "_selected_action": [done.pk]},
    )
    assert not Review.objects.exists()


def test_a_medical_adviser_reading_the_comment_is_audited(staff_client, done, adviser):
    surveys.answer_survey(survey=done, comment="Mon traitement me fatigue.", **GOOD)
    client = staff_client(adviser)

    page = client.get(
        reverse("admin:appointments_satisfactionsurvey_change", args=[done.pk])
    )

    assert "Mon traitement me fatigue." in page.content.decode()
    assert AccessLog.objects.filter(
        actor=adviser, object_type="satisfaction_survey", object_id=str(done.public_id)
    ).exists()
