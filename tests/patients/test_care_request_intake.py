"""Opening a care request: consent, triage, the emergency path, who may file."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from conciergerie.audit.models import AccessLog
from conciergerie.notifications.models import Message
from patients import services
from patients.models import CareRequest, CareRequestEvent, Document
from patients.services import care_requests
from patients.services.care_requests import RoleNotAllowed
from tests.factories import UserFactory
from tests.patients.factories import PNG_BYTES, PatientFactory

CHEST_PAIN = "J'ai une douleur thoracique qui serre depuis vingt minutes."
SKIN = "Des plaques rouges qui grattent sur les bras depuis des mois, un eczéma ?"


@pytest.fixture(autouse=True)
def _on_duty(settings):
    settings.ON_DUTY_EMAIL = "garde@conciergerie.local"


def _submit(patient, by, need=SKIN, **kwargs) -> CareRequest:
    return care_requests.submit_care_request(
        patient=patient,
        by=by,
        channel=kwargs.pop("channel", CareRequest.IntakeChannel.PORTAL),
        need=need,
        **kwargs,
    )


def test_an_intake_without_health_data_consent_is_refused(patient_user):
    patient = PatientFactory(user=patient_user)  # no consent

    with pytest.raises(ValidationError) as refused:
        _submit(patient, patient_user)

    assert refused.value.code == "consent_required"
    assert not CareRequest.objects.exists()


def test_a_patient_files_a_request_triage_suggests_and_explains(
    patient, patient_user, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        care_request = _submit(patient, patient_user)

    care_request.refresh_from_db()
    assert care_request.reference.startswith("D-")
    assert len(care_request.reference) == 8
    assert care_request.state == CareRequest.State.RECEIVED
    assert care_request.suggested_specialty == "dermatology"
    assert care_request.specialty_reasons  # the words that pointed to it
    assert care_request.specialty == ""  # a medical adviser confirms it
    assert care_request.urgency == "routine"
    assert care_request.requested_by == patient_user
    assert care_request.place_postal_code == patient.postal_code
    assert care_request.first_response_due_at == care_request.created_at + timedelta(
        minutes=1440
    )
    assert care_request.appointment_due_at is not None
    event = care_request.events.get()
    assert (event.kind, event.to_state, event.public) == ("created", "received", True)
    assert AccessLog.objects.filter(
        action="create", object_type="care_request", object_id=care_request.reference
    ).exists()
    # The acknowledgment says nothing medical.
    assert [m.to for m in mailoutbox] == [[patient.email]]
    assert care_request.reference in mailoutbox[0].subject
    assert "eczéma" not in mailoutbox[0].body.lower()


def test_red_flags_put_the_request_on_the_emergency_path_at_once(
    patient, patient_user, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        care_request = _submit(patient, patient_user, need=CHEST_PAIN)

    care_request.refresh_from_db()
    assert care_request.state == CareRequest.State.EMERGENCY
    assert care_request.urgency == "emergency"
    assert care_request.red_flag_codes == ["chest_pain"]
    assert care_request.red_flags[0]["advice"]
    assert care_request.emergency_checklist.count() == 5
    follow_up = care_request.tasks.get()
    assert follow_up.kind == "follow_up_call"
    assert list(care_request.events.values_list("kind", "from_state", "to_state")) == [
        ("created", "", "received"),
        ("transition", "received", "emergency"),
    ]
    # The on-duty concierge is alerted after the commit, not before.
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    assert [m.to for m in mailoutbox] == [["garde@conciergerie.local"]]
    alert = mailoutbox[0]
    assert care_request.reference in alert.subject
    assert "thoracique" not in alert.body
    # No "we received your request" email while the patient must call 15.
    assert not Message.objects.filter(template="patients/email/care_request_status")


def test_suicidal_thoughts_are_flagged_for_the_3114(patient, patient_user):
    care_request = _submit(
        patient, patient_user, need="J'ai des idées noires, j'ai envie de mourir."
    )

    assert care_request.state == CareRequest.State.EMERGENCY
    assert care_request.suicidal_risk


def test_red_flags_in_the_answers_also_raise_the_emergency(patient, patient_user):
    care_request = _submit(
        patient,
        patient_user,
        need="Un bilan de cardiologie.",
        answers={
            "symptoms": {
                "question": "Quels sont vos symptômes ?",
                "answer": "Je me suis évanoui ce matin.",
            }
        },
    )

    assert care_request.state == CareRequest.State.EMERGENCY
    assert "unconscious" in care_request.red_flag_codes


def test_a_negated_mention_is_not_an_emergency(patient, patient_user):
    care_request = _submit(
        patient,
        patient_user,
        need="Bilan cardiaque annuel, pas de douleur thoracique ni d'essoufflement.",
    )

    assert care_request.state == CareRequest.State.RECEIVED


def test_nobody_files_for_a_patient_they_do_not_manage(patient, other_patient_user):
    with pytest.raises(RoleNotAllowed):
        _submit(patient, other_patient_user)


def test_a_guardian_files_for_their_child(patient_user):
    from tests.patients.factories import GuardianshipFactory

    child = GuardianshipFactory(guardian=patient_user).patient
    services.give_health_data_consent(patient=child, by=patient_user, channel="portal")

    care_request = _submit(child, patient_user, need="Ma fille de 8 ans tousse.")

    assert care_request.patient == child
    assert care_request.suggested_specialty == "paediatrics"


def test_a_partner_files_for_a_patient_it_referred(partner_client):
    partner = partner_client.user
    patient = PatientFactory(consented=True, referred_by=partner)
    stranger = PatientFactory(consented=True)

    care_request = _submit(patient, partner, channel="api", partner_reference="CLIN-42")
    with pytest.raises(RoleNotAllowed):
        _submit(stranger, partner, channel="api")

    assert (care_request.requested_by, care_request.partner_reference) == (
        partner,
        "CLIN-42",
    )


def test_a_concierge_takes_a_request_on_the_phone(patient, coordinator):
    care_request = _submit(
        patient,
        coordinator,
        channel="phone",
        kind="teleconsultation",
        specialty="psychiatry",
        preferences={"mode": "teleconsultation", "languages": ["en"]},
    )

    assert care_request.channel == "phone"
    assert care_request.specialty == "psychiatry"
    assert care_request.languages == ["en"]
    assert care_request.requested_by == coordinator


def test_photos_are_stored_encrypted_in_the_patient_documents(patient, patient_user):
    photo = SimpleUploadedFile("bras.png", PNG_BYTES, content_type="image/png")

    care_request = _submit(
        patient, patient_user, attachments=[(photo, Document.Kind.PHOTO)]
    )

    document = care_request.documents.get()
    assert (document.patient, document.kind) == (patient, "photo")
    assert document.origin == "portal"


def test_an_unknown_specialty_is_refused(patient, patient_user):
    with pytest.raises(ValidationError) as refused:
        _submit(patient, patient_user, specialty="astrology")

    assert refused.value.error_dict["specialty"][0].code == "unknown_specialty"


def test_an_empty_need_is_refused(patient, patient_user):
    with pytest.raises(ValidationError) as refused:
        _submit(patient, patient_user, need="   ")

    assert refused.value.error_dict["need"][0].code == "need_required"


def test_a_pseudonymised_file_takes_no_request(patient, patient_user):
    from django.utils import timezone

    patient.erased_at = timezone.now()
    patient.save(update_fields=["erased_at"])

    with pytest.raises(ValidationError) as refused:
        _submit(patient, patient_user)

    assert refused.value.code == "file_closed"


def test_the_least_busy_of_the_patients_concierges_takes_the_request(
    patient, patient_user, adviser, django_capture_on_commit_callbacks, mailoutbox
):
    services.assign_staff(patient=patient, staff=adviser, by=adviser)
    colleague = UserFactory(role="medical_adviser")
    services.assign_staff(patient=patient, staff=colleague, by=colleague)

    first = _submit(patient, patient_user)
    with django_capture_on_commit_callbacks(execute=True):
        second = _submit(patient, patient_user)

    assert first.assigned_to == adviser
    assert second.assigned_to == colleague
    assignment = second.events.get(kind=CareRequestEvent.Kind.ASSIGNMENT)
    assert assignment.public
    assert assignment.public_text.endswith(f"{colleague.first_name}.")
    assert colleague.email in [m.to[0] for m in mailoutbox]


def test_urgency_cues_set_shorter_deadlines(patient, patient_user):
    urgent = _submit(
        patient, patient_user, need="Mon genou a gonflé depuis hier, c'est urgent."
    )

    assert urgent.urgency == "urgent"
    assert urgent.first_response_due_at == urgent.created_at + timedelta(minutes=120)
    assert urgent.appointment_due_at == urgent.created_at + timedelta(minutes=2880)


def test_requests_needing_no_practitioner_have_no_appointment_clock(
    patient, patient_user
):
    care_request = _submit(
        patient, patient_user, kind="administrative", need="Aide pour mon dossier ALD."
    )

    assert care_request.appointment_due_at is None
