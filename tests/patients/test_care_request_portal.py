"""Care requests in the portal: the guided intake, status and timeline, messages,
the emergency banner, and 404 for whatever is not the user's."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conciergerie.audit.models import AccessLog
from patients.models import CareRequest
from patients.services import care_team
from tests.patients.factories import (
    PNG_BYTES,
    CareRequestFactory,
    CareTaskFactory,
    GuardianshipFactory,
    PatientFactory,
)

NEW = reverse("patients:care-request-new")


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.user)
    return client


def _start(patient, need: str, **extra) -> dict:
    return {
        "step": "start",
        "start-patient": patient.reference,
        "start-kind": "specialist",
        "start-need": need,
        "start-specialty": "",
        **extra,
    }


def _details(start: dict, specialty: str, **extra) -> dict:
    return {
        **start,
        "step": "details",
        "details-specialty": specialty,
        "details-questions_for": specialty,
        "details-place_postal_code": "75013",
        "details-place_commune": "Paris",
        "details-radius_km": "20",
        "details-mode": "in_person",
        **extra,
    }


# --- My requests ----------------------------------------------------------------------


def test_the_list_shows_the_requests_of_the_viewed_file(
    signed_in, patient, patient_user
):
    child = GuardianshipFactory(guardian=patient_user).patient
    mine = CareRequestFactory(patient=patient)
    childs = CareRequestFactory(patient=child, requested_by=patient_user)
    someone_elses = CareRequestFactory()

    response = signed_in.get(reverse("patients:care-requests"))
    signed_in.post(reverse("portal:switch-file"), {"reference": child.reference})
    for_child = signed_in.get(reverse("patients:care-requests")).content.decode()

    content = response.content.decode()
    assert response.status_code == 200
    assert mine.reference in content
    assert childs.reference not in content
    assert childs.reference in for_child
    assert mine.reference not in for_child
    assert someone_elses.reference not in content + for_child


def test_the_dashboard_links_to_my_requests(signed_in, patient):
    CareRequestFactory(patient=patient)

    response = signed_in.get(reverse("dashboard"))

    content = response.content.decode()
    assert reverse("patients:care-requests") in content
    assert reverse("patients:care-request-new") in content


def test_another_patients_request_answers_404(signed_in, other_patient):
    theirs = CareRequestFactory(patient=other_patient)

    for url in (
        reverse("patients:care-request", args=[theirs.reference]),
        reverse("patients:care-request-message", args=[theirs.reference]),
        reverse("patients:care-request-cancel", args=[theirs.reference]),
    ):
        method = (
            signed_in.get if url.endswith(f"{theirs.reference}/") else signed_in.post
        )
        assert method(url).status_code == 404


def test_the_detail_shows_the_status_the_public_timeline_and_messages(
    signed_in, patient, coordinator
):
    care_request = CareRequestFactory(patient=patient)
    care_team.add_internal_note(
        care_request=care_request, by=coordinator, body="NOTE-INTERNE-SECRETE"
    )
    care_team.post_message(
        care_request=care_request, by=coordinator, body="Bonjour, je m'occupe de vous."
    )
    CareTaskFactory(
        care_request=care_request, title="Taxi réservé", shared_with_patient=True
    )
    CareTaskFactory(care_request=care_request, title="TACHE-INTERNE")
    care_request.events.create(
        kind="details", actor_label="x", comment="COMMENTAIRE-EQUIPE", public=False
    )

    response = signed_in.get(
        reverse("patients:care-request", args=[care_request.reference])
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "je m&#x27;occupe de vous" in content
    assert "Taxi réservé" in content
    assert "NOTE-INTERNE-SECRETE" not in content
    assert "TACHE-INTERNE" not in content
    assert "COMMENTAIRE-EQUIPE" not in content
    assert care_request.messages.get().read_at is not None
    assert AccessLog.objects.filter(
        object_type="care_request", object_id=care_request.reference, face="portal"
    ).exists()


def test_staff_opening_a_portal_link_land_in_the_back_office(client, coordinator):
    care_request = CareRequestFactory()
    client.force_login(coordinator)

    response = client.get(
        reverse("patients:care-request", args=[care_request.reference])
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:patients_carerequest_change", args=[care_request.pk]
    )


# --- The guided intake ----------------------------------------------------------------


def test_step_one_then_two_opens_a_request_with_the_specialtys_answers(
    signed_in, patient
):
    need = "Une tache brune sur le dos qui a changé de forme depuis l'été."
    start = _start(patient, need)

    step_one = signed_in.post(NEW, start)
    content = step_one.content.decode()
    assert step_one.status_code == 200
    assert 'name="details-q_changing-mole"' in content  # dermatology's questions
    assert 'name="details-attachments"' in content  # it asks for photos
    photo = SimpleUploadedFile("dos.png", PNG_BYTES, content_type="image/png")
    step_two = signed_in.post(
        NEW,
        _details(
            start,
            "dermatology",
            **{
                "details-q_location": "Le dos, sous l'omoplate",
                "details-q_changing-mole": "yes",
                "details-q_since": "Quelques semaines",
                "details-attachments": [photo],
            },
        ),
    )

    care_request = CareRequest.objects.get()
    assert step_two.status_code == 302
    assert step_two["Location"] == care_request.get_absolute_url()
    assert care_request.channel == "portal"
    assert care_request.suggested_specialty == "dermatology"
    assert care_request.specialty == "dermatology"
    assert care_request.answers["changing-mole"]["answer"] == "yes"
    assert care_request.place_postal_code == "75013"
    assert care_request.documents.get().kind == "photo"


def test_a_required_intake_answer_is_asked_again(signed_in, patient):
    start = _start(patient, "Une tache brune sur le dos qui a changé de forme.")

    response = signed_in.post(NEW, _details(start, "dermatology"))

    assert response.status_code == 200
    assert response.context["form"].errors["q_changing-mole"]
    assert not CareRequest.objects.exists()


def test_changing_the_specialist_shows_its_own_questions(signed_in, patient):
    start = _start(patient, "Une tache brune sur le dos qui a changé de forme.")

    response = signed_in.post(
        NEW,
        {
            **_details(start, "dermatology"),
            "details-specialty": "cardiology",
        },
    )

    assert response.status_code == 200
    assert response.context["specialty_changed"] is True
    assert response.context["form"].chosen_specialty == "cardiology"
    assert not CareRequest.objects.exists()


def test_paediatrics_asks_which_child(signed_in, patient, patient_user):
    child = GuardianshipFactory(guardian=patient_user).patient
    from patients import services

    services.give_health_data_consent(patient=child, by=patient_user, channel="portal")
    start = _start(patient, "Mon fils de 6 ans tousse la nuit depuis une semaine.")

    step_one = signed_in.post(NEW, start)
    step_two = signed_in.post(
        NEW,
        _details(
            start,
            "paediatrics",
            **{
                "details-child": child.reference,
                "details-q_age-months": "72",
                "details-q_reason": "Enfant malade",
            },
        ),
    )

    assert 'name="details-child"' in step_one.content.decode()
    assert step_two.status_code == 302
    assert CareRequest.objects.get().patient == child


def test_red_flags_at_step_one_open_the_emergency_at_once_with_the_banner(
    signed_in, patient
):
    response = signed_in.post(
        NEW,
        _start(patient, "J'ai très mal à la poitrine et au bras gauche."),
        follow=True,
    )

    care_request = CareRequest.objects.get()
    content = response.content.decode()
    assert care_request.state == "emergency"
    assert 'data-testid="emergency-banner"' in content
    assert 'href="tel:15"' in content
    assert 'href="tel:112"' in content
    assert content.index('href="tel:15"') < content.index('href="tel:3114"')


def test_suicidal_thoughts_show_the_3114_first(signed_in, patient):
    response = signed_in.post(
        NEW,
        _start(patient, "Je n'en peux plus, j'ai des idées suicidaires."),
        follow=True,
    )

    content = response.content.decode()
    assert content.index('href="tel:3114"') < content.index('href="tel:15"')


def test_an_intake_without_consent_says_why(client, patient_user):
    patient = PatientFactory(user=patient_user)  # no consent
    client.force_login(patient_user)
    start = _start(patient, "Des plaques rouges qui grattent.")

    response = client.post(
        NEW,
        _details(
            start,
            "dermatology",
            **{
                "details-q_location": "Les bras",
                "details-q_changing-mole": "no",
            },
        ),
    )

    assert response.status_code == 200
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == [
        "consent_required"
    ]
    assert not CareRequest.objects.exists()


def test_someone_without_a_file_is_sent_to_complete_it(client, other_patient_user):
    client.force_login(other_patient_user)

    response = client.get(NEW)

    assert response.status_code == 302
    assert response["Location"] == reverse("patients:register")


# --- Messages and cancelling ----------------------------------------------------------


def test_the_patient_writes_to_the_concierge(signed_in, patient):
    care_request = CareRequestFactory(patient=patient)

    response = signed_in.post(
        reverse("patients:care-request-message", args=[care_request.reference]),
        {"body": "Je suis disponible le matin."},
    )

    assert response.status_code == 302
    assert care_request.messages.get().body == "Je suis disponible le matin."


def test_red_flags_in_a_message_show_the_emergency(signed_in, patient):
    care_request = CareRequestFactory(patient=patient)

    response = signed_in.post(
        reverse("patients:care-request-message", args=[care_request.reference]),
        {"body": "J'ai perdu connaissance dans la cuisine tout à l'heure."},
        follow=True,
    )

    care_request.refresh_from_db()
    assert care_request.state == "emergency"
    assert 'data-testid="emergency-banner"' in response.content.decode()


def test_the_patient_cancels_with_a_reason(signed_in, patient):
    care_request = CareRequestFactory(patient=patient)

    signed_in.post(
        reverse("patients:care-request-cancel", args=[care_request.reference]),
        {"reason": "J'ai trouvé un rendez-vous."},
    )

    care_request.refresh_from_db()
    assert care_request.state == "cancelled"


def test_cancelling_too_late_says_so_and_changes_nothing(signed_in, patient):
    care_request = CareRequestFactory(patient=patient, state="in_care")

    response = signed_in.post(
        reverse("patients:care-request-cancel", args=[care_request.reference]),
        {"reason": "Plus besoin."},
        follow=True,
    )

    care_request.refresh_from_db()
    assert care_request.state == "in_care"
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


# --- Care plan ------------------------------------------------------------------------


def test_the_care_plan_shows_once_shared(signed_in, patient, adviser):
    url = reverse("patients:care-plan", args=[patient.reference])
    plan = care_team.save_care_plan(patient=patient, by=adviser, goals="Marcher 30 min")

    hidden = signed_in.get(url)
    care_team.save_care_plan(
        patient=patient, by=adviser, goals=plan.goals, shared_with_patient=True
    )
    shown = signed_in.get(url)

    assert hidden.status_code == 404
    assert shown.status_code == 200
    assert "Marcher 30 min" in shown.content.decode()


def test_another_patients_care_plan_answers_404(signed_in, other_patient, adviser):
    care_team.save_care_plan(
        patient=other_patient, by=adviser, goals="x", shared_with_patient=True
    )

    response = signed_in.get(
        reverse("patients:care-plan", args=[other_patient.reference])
    )

    assert response.status_code == 404


def test_the_file_links_to_the_care_plan_once_shared(signed_in, patient, adviser):
    care_team.save_care_plan(
        patient=patient, by=adviser, goals="Marcher", shared_with_patient=True
    )

    response = signed_in.get(reverse("patients:detail", args=[patient.reference]))

    assert reverse("patients:care-plan", args=[patient.reference]) in (
        response.content.decode()
    )
