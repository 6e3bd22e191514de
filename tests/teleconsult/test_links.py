"""Entering a teleconsultation: the portal, the patient's personal link, the
practitioner's account with its second factor or single-use link and code.
Every misuse is refused with a plain page and written in the access log."""

import time
from unittest import mock

import pytest
from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from conciergerie.audit.models import AccessLog
from conciergerie.notifications.models import Message
from patients.models import Document
from teleconsult import links
from teleconsult.models import PractitionerPass, SessionEvent, TeleconsultationSession
from teleconsult.services import sessions
from tests.appointments.factories import open_practitioner
from tests.factories import UserFactory
from tests.patients.factories import PNG_BYTES
from tests.teleconsult.conftest import make_video_appointment

Role = "practitioner"


def _refusals(session) -> list[str]:
    return list(
        session.events.filter(action=SessionEvent.Action.REFUSED).values_list(
            "note", flat=True
        )
    )


def _audited_refusal(session, reason: str) -> bool:
    """A row of the patient's access log names the refusal (its code)."""
    return AccessLog.objects.filter(
        object_type="teleconsultation",
        object_id=str(session.public_id),
        patient_ref=session.appointment.patient.reference,
        reason__endswith=reason,
    ).exists()


def _link(appointment) -> str:
    return f"/teleconsultations/j/{links.patient_token(appointment)}/"


# --- The portal -----------------------------------------------------------------


def test_the_patient_enters_the_waiting_room_from_the_portal(client, session):
    client.force_login(session.appointment.patient.user)

    response = client.get(session.get_absolute_url())

    assert response.status_code == 200
    assert 'data-side="patient"' in response.content.decode()
    row = AccessLog.objects.get(object_type="teleconsultation")
    assert row.actor == session.appointment.patient.user
    assert row.reason.endswith("(portal)")


def test_a_guardian_enters_for_their_child(client, patient_user):
    from tests.patients.factories import GuardianshipFactory

    child = GuardianshipFactory(
        guardian=patient_user, patient__consented=True, patient__user=None
    ).patient
    appointment = make_video_appointment(patient=child)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    client.force_login(patient_user)

    response = client.get(session.get_absolute_url())

    assert response.status_code == 200


def test_another_patient_gets_404(client, session, other_patient):
    client.force_login(other_patient.user)

    assert client.get(session.get_absolute_url()).status_code == 404
    status_url = f"/teleconsultations/{session.public_id}/status/"
    assert client.get(status_url).status_code == 404


def test_outside_the_window_the_page_says_when_to_come_back(client, patient):
    appointment = make_video_appointment(patient=patient, starts_in=60)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    client.force_login(patient.user)

    response = client.get(session.get_absolute_url())

    assert response.status_code == 403
    assert 'data-refusal="too_early"' in response.content.decode()
    assert _refusals(session) == ["too_early"]
    assert _audited_refusal(session, "too_early")


# --- The patient's personal link ------------------------------------------------------


def test_the_personal_link_opens_this_session_without_an_account(client, session):
    response = client.get(_link(session.appointment))

    assert response.status_code == 302
    assert response["Location"] == session.get_absolute_url()
    assert client.get(session.get_absolute_url()).status_code == 200


def test_a_link_opens_its_own_session_only(client, session, other_patient):
    other = make_video_appointment(patient=other_patient)
    other_session = TeleconsultationSession.objects.get(appointment=other)

    client.get(_link(session.appointment))

    assert client.get(other_session.get_absolute_url()).status_code == 302  # login
    client.force_login(UserFactory())
    assert client.get(other_session.get_absolute_url()).status_code == 404
    # Signed in as someone else, the link's grant no longer speaks for them.
    assert client.get(session.get_absolute_url()).status_code == 404


def test_another_patients_link_is_refused_and_audited(client, session, other_patient):
    client.force_login(other_patient.user)

    response = client.get(_link(session.appointment))

    assert response.status_code == 403
    assert 'data-refusal="wrong_person"' in response.content.decode()
    assert _refusals(session) == ["wrong_person"]
    assert _audited_refusal(session, "wrong_person")
    row = AccessLog.objects.get(object_type="teleconsultation")
    assert row.actor == other_patient.user


def test_an_expired_link_is_refused_and_audited(client, session):
    long_ago = time.time() - links.MAX_AGE.total_seconds() - 60
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        token = links.patient_token(session.appointment)

    response = client.get(f"/teleconsultations/j/{token}/")

    assert response.status_code == 410
    assert 'data-refusal="expired_link"' in response.content.decode()
    assert _refusals(session) == ["expired_link"]
    assert _audited_refusal(session, "expired_link")


def test_a_link_outside_the_window_is_refused_and_audited(client, patient):
    appointment = make_video_appointment(patient=patient, starts_in=-300)
    session = TeleconsultationSession.objects.get(appointment=appointment)

    response = client.get(_link(appointment))

    assert response.status_code == 410
    assert 'data-refusal="closed"' in response.content.decode()
    assert _refusals(session) == ["closed"]
    assert _audited_refusal(session, "closed")
    assert client.get(session.get_absolute_url()).status_code == 302  # not granted


def test_a_forged_link_is_not_found(client, session):
    token = links.patient_token(session.appointment)

    response = client.get(f"/teleconsultations/j/{token[:-2]}xx/")

    assert response.status_code == 404


def test_a_link_naming_another_patient_file_is_not_found(client, session):
    forged = links._signer(links.PATIENT_SALT).sign(
        f"{session.appointment.public_id.hex}~P-OTHER1"
    )

    response = client.get(f"/teleconsultations/j/{forged}/")

    assert response.status_code == 404


# --- Waiting, admission, documents through the pages --------------------------------


def test_the_video_is_given_to_the_patient_only_once_admitted(client, session):
    client.get(_link(session.appointment))
    status_url = f"/teleconsultations/{session.public_id}/status/"

    waiting = client.get(status_url).json()
    sessions.admit_patient(
        session=session,
        by=sessions.practitioner_visitor(None, session.appointment, via="pass"),
    )
    admitted = client.get(status_url).json()

    assert waiting["video"] is None
    assert waiting["position"] == 1
    assert admitted["state"] == "in_progress"
    assert admitted["video"]["room"] == session.room
    assert admitted["video"]["domain"] == "meet.conciergerie.local"


def test_sharing_from_the_waiting_room_answers_json_for_the_page(client, session):
    client.get(_link(session.appointment))
    upload = SimpleUploadedFile("photo.png", PNG_BYTES, content_type="image/png")

    response = client.post(
        f"/teleconsultations/{session.public_id}/documents/",
        {"file": upload, "title": "Photo"},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 201
    assert [d["title"] for d in response.json()["documents"]] == ["Photo"]
    assert Document.objects.filter(patient=session.appointment.patient).count() == 1


def test_an_unreadable_file_is_refused_with_a_message(client, session):
    client.get(_link(session.appointment))
    upload = SimpleUploadedFile("x.txt", b"hello", content_type="text/plain")

    response = client.post(
        f"/teleconsultations/{session.public_id}/documents/",
        {"file": upload},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"]


# --- Practitioners with an account: second factor mandatory --------------------------


@pytest.fixture
def doctor(db):
    user = UserFactory(email="dr.martin@example.fr", role=Role)
    practitioner = open_practitioner(user=user)
    return user, practitioner


def _with_mfa(client, user):
    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    client.force_login(user)
    store = client.session
    store[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "mfa", "at": time.time(), "type": "totp"}
    ]
    store[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    store.save()


def test_a_practitioner_without_an_authenticator_must_set_one_up(client, doctor):
    user, practitioner = doctor
    appointment = make_video_appointment(practitioner=practitioner)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    client.force_login(user)

    response = client.get(f"/teleconsultations/{session.public_id}/console/")

    assert response.status_code == 302
    assert "/accounts/2fa/totp/activate/" in response["Location"]


def test_without_the_second_factor_the_console_gives_no_video_token(client, doctor):
    user, practitioner = doctor
    appointment = make_video_appointment(practitioner=practitioner)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    client.force_login(user)

    response = client.get(f"/teleconsultations/{session.public_id}/status/")

    assert response.status_code == 403


def test_a_practitioner_who_skipped_the_second_factor_must_give_it(client, doctor):
    user, practitioner = doctor
    appointment = make_video_appointment(practitioner=practitioner)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    client.force_login(user)

    response = client.get(f"/teleconsultations/{session.public_id}/console/")

    assert response.status_code == 302
    assert "/accounts/2fa/reauthenticate/" in response["Location"]


def test_a_practitioner_with_the_second_factor_runs_the_console(client, doctor):
    user, practitioner = doctor
    appointment = make_video_appointment(practitioner=practitioner)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    _with_mfa(client, user)

    page = client.get(f"/teleconsultations/{session.public_id}/console/")
    admitted = client.post(
        f"/teleconsultations/{session.public_id}/console/admit/",
        headers={"accept": "application/json"},
    )

    assert page.status_code == 200
    assert admitted.status_code == 200
    assert admitted.json()["state"] == "in_progress"
    assert admitted.json()["video"]["jwt"]
    session.refresh_from_db()
    assert session.admitted_by == user


def test_a_patient_cannot_use_the_console(client, session):
    client.force_login(session.appointment.patient.user)

    response = client.post(f"/teleconsultations/{session.public_id}/console/admit/")

    assert response.status_code == 404
    session.refresh_from_db()
    assert session.state == TeleconsultationSession.State.WAITING


# --- Practitioners without an account: single-use link and one-time code ------------


def _code_of(message: Message) -> str:
    return message.context["code"]


def test_a_practitioner_without_account_gets_a_link_then_a_code(client, session):
    practitioner_pass = PractitionerPass.objects.get(session=session)
    link_mail = Message.objects.get(template="teleconsult/messages/practitioner_link")
    assert link_mail.to == "cabinet@example.fr"
    url = f"/teleconsultations/p/{links.practitioner_token(practitioner_pass)}/"
    assert link_mail.context["link"].endswith(url)

    assert client.get(url).status_code == 200
    client.post(url, {"send": "email"})
    code_mail = Message.objects.get(template="teleconsult/messages/one_time_code")
    wrong = client.post(
        url, {"code": "000000" if _code_of(code_mail) != "000000" else "111111"}
    )
    entered = client.post(url, {"code": _code_of(code_mail)})

    assert code_mail.to == "cabinet@example.fr"
    assert wrong.status_code == 400
    assert entered.status_code == 302
    assert entered["Location"] == f"/teleconsultations/{session.public_id}/console/"
    assert client.get(entered["Location"]).status_code == 200
    practitioner_pass.refresh_from_db()
    assert practitioner_pass.used_at is not None
    assert practitioner_pass.code_attempts == 1


def test_a_spent_practitioner_link_is_refused_elsewhere(client, session):
    practitioner_pass = PractitionerPass.objects.get(session=session)
    url = f"/teleconsultations/p/{links.practitioner_token(practitioner_pass)}/"
    client.post(url, {"send": "email"})
    code = Message.objects.get(template="teleconsult/messages/one_time_code")
    client.post(url, {"code": _code_of(code)})

    other_browser = client.__class__()
    response = other_browser.get(url)

    assert response.status_code == 410
    assert 'data-refusal="spent_link"' in response.content.decode()
    assert _audited_refusal(session, "spent_link")


def test_five_wrong_codes_lock_the_code(session):
    practitioner_pass = PractitionerPass.objects.get(session=session)
    sessions.send_pass_code(practitioner_pass=practitioner_pass, channel="email")
    code = Message.objects.get(template="teleconsult/messages/one_time_code")
    wrong = "000000" if _code_of(code) != "000000" else "111111"
    for _attempt in range(sessions.CODE_MAX_ATTEMPTS):
        with pytest.raises(sessions.WrongCode):
            sessions.redeem_pass(practitioner_pass=practitioner_pass, code=wrong)

    with pytest.raises(ValidationError) as error:
        sessions.redeem_pass(practitioner_pass=practitioner_pass, code=_code_of(code))

    assert error.value.code == "too_many_attempts"


def test_the_console_saves_the_notes_then_files_them_at_the_end(client, doctor):
    user, practitioner = doctor
    appointment = make_video_appointment(practitioner=practitioner)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    _with_mfa(client, user)
    base = f"/teleconsultations/{session.public_id}/console/"

    saved = client.post(
        f"{base}notes/",
        {"report": "Bilan normal.", "prescription": "Repos trois jours."},
        headers={"accept": "application/json"},
    )
    ended = client.post(f"{base}end/", headers={"accept": "application/json"})

    assert saved.status_code == 200
    assert ended.json()["state"] == "ended"
    session.refresh_from_db()
    assert session.report_document.kind == Document.Kind.CONSULTATION_REPORT
    assert session.prescription_document.kind == Document.Kind.PRESCRIPTION
    assert session.ended_by == user
