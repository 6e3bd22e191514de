"""A teleconsultation in Chromium with fake camera and microphone: the patient
checks their equipment, waits, is admitted, shares a picture that lands in their
file, and the page builds the Jitsi frame for the right domain, room and token.

The Jitsi server is not reachable here (nor is any other host): its iframe API
script is answered by a small stand-in with the same constructor, and the frame's
page by an empty document, both through Playwright's routing.
"""

import re

import pytest
from playwright.sync_api import expect

from patients.models import Document
from teleconsult.models import SharedDocument, TeleconsultationSession
from teleconsult.services import sessions
from teleconsult.video import decode_token
from tests.e2e.test_device_check import _session_cookie
from tests.factories import UserFactory
from tests.patients.factories import PNG_BYTES, PatientFactory
from tests.teleconsult.conftest import FakeProvider, make_video_appointment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: The same constructor as Jitsi's external_api.js, building the same iframe URL.
STAND_IN_API = """
window.JitsiMeetExternalAPI = function (domain, options) {
  var frame = document.createElement("iframe");
  frame.id = "jitsiConferenceFrame0";
  frame.allow = "camera; microphone; display-capture";
  frame.src = "https://" + domain + "/" + encodeURIComponent(options.roomName) +
    "?jwt=" + options.jwt + "#config.prejoinConfig.enabled=false";
  options.parentNode.appendChild(frame);
  this.dispose = function () { frame.remove(); };
};
"""


@pytest.fixture
def video_server(page, settings, tmp_path):
    settings.VIDEO_PROVIDER = "tests.teleconsult.conftest.FakeProvider"
    settings.MEDIA_ROOT = tmp_path / "media"
    FakeProvider.reachable = True
    domain = settings.VIDEO_DOMAIN
    requested = []

    def answer(route):
        requested.append(route.request.url)
        if route.request.url.endswith("/external_api.js"):
            route.fulfill(content_type="text/javascript", body=STAND_IN_API)
        else:
            route.fulfill(content_type="text/html", body="<!doctype html><p>video")

    page.context.route(re.compile(rf"https://{re.escape(domain)}/.*"), answer)
    return domain, requested


def test_a_patient_checks_waits_is_admitted_and_shares_a_picture(
    page, live_server, video_server, axe
):
    domain, requested = video_server
    user = UserFactory(email="ines.garnier@example.fr")
    patient = PatientFactory(user=user, email=user.email, consented=True)
    appointment = make_video_appointment(patient=patient, starts_in=-2)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    page.context.add_cookies([_session_cookie(user, live_server.url)])

    # The device check, then on to the waiting room.
    room_path = session.get_absolute_url()
    page.goto(f"/teleconsultations/device-check/?next={room_path}")
    page.locator("#start-check").click()
    for check in ("camera", "microphone", "connection"):
        expect(page.locator(f'[data-check="{check}"]')).to_have_attribute(
            "data-status", "pass"
        )
    page.locator("#to-waiting-room").click()
    page.wait_for_url(re.compile(re.escape(room_path) + "$"))

    # Waiting: first in line, the practitioner not there yet, no video.
    expect(page.locator("#session-state")).to_have_attribute("data-state", "waiting")
    expect(page.locator("#position")).to_have_attribute("data-position", "1")
    expect(page.locator("#practitioner-status")).to_have_attribute(
        "data-status", "not_arrived"
    )
    assert page.locator("#video iframe").count() == 0
    axe(page)
    session.refresh_from_db()
    assert session.patient_arrived_at is not None

    # The practitioner lets the patient in.
    sessions.admit_patient(
        session=session,
        by=sessions.practitioner_visitor(None, appointment, via="pass"),
    )
    expect(page.locator("#session-state")).to_have_attribute(
        "data-state", "in_progress"
    )
    frame = page.locator("#video iframe")
    expect(frame).to_have_count(1)
    video = page.locator("#video")
    expect(video).to_have_attribute("data-domain", domain)
    expect(video).to_have_attribute("data-room", session.room)
    token = video.get_attribute("data-jwt")
    claims = decode_token(token)
    assert claims["room"] == session.room
    assert claims["moderator"] is False
    assert claims["context"]["user"]["id"] == patient.reference
    src = frame.get_attribute("src")
    assert src.startswith(f"https://{domain}/{session.room}?jwt={token}")
    assert f"https://{domain}/external_api.js" in requested

    # A picture shared during the consultation lands in the patient's file.
    page.locator('#share-form input[type="file"]').set_input_files(
        {"name": "grain-de-beaute.png", "mimeType": "image/png", "buffer": PNG_BYTES}
    )
    page.locator('#share-form input[name="title"]').fill("Grain de beauté")
    page.locator('#share-form button[type="submit"]').click()
    expect(page.locator("#document-list li[data-document]")).to_have_count(1)
    expect(page.locator("#document-list")).to_contain_text("Grain de beauté")
    expect(frame).to_have_count(1)  # the call was not cut by a reload

    document = Document.objects.get(patient=patient)
    assert document.kind == Document.Kind.PHOTO
    assert document.title == "Grain de beauté"
    assert SharedDocument.objects.get(session=session).document == document


def test_a_practitioner_without_account_enters_with_a_code_admits_and_ends(
    page, live_server, video_server, axe
):
    from appointments.models import Appointment
    from conciergerie.notifications.models import Message
    from teleconsult import links
    from teleconsult.models import PractitionerPass

    domain, _requested = video_server
    patient = PatientFactory(consented=True)
    appointment = make_video_appointment(patient=patient, starts_in=-2)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    practitioner_pass = PractitionerPass.objects.get(session=session)
    sessions.record_join(
        session=session,
        visitor=sessions.patient_visitor(None, appointment, via="link"),
    )

    # The single-use link asks for a one-time code sent by email.
    page.goto(f"/teleconsultations/p/{links.practitioner_token(practitioner_pass)}/")
    axe(page)
    page.locator('button[name="send"][value="email"]').click()
    code = Message.objects.get(template="teleconsult/messages/one_time_code")
    page.locator('input[name="code"]').fill(code.context["code"])
    page.locator('input[name="code"]').press("Enter")
    page.wait_for_url(re.compile(r"/console/$"))

    # The console: the patient is in the waiting room; the practitioner's own
    # video (as moderator) is already there.
    expect(page.locator("#patient-presence")).to_have_attribute("data-present", "true")
    frame = page.locator("#video iframe")
    expect(frame).to_have_count(1)
    claims = decode_token(page.locator("#video").get_attribute("data-jwt"))
    assert claims["room"] == session.room
    assert claims["moderator"] is True
    assert frame.get_attribute("src").startswith(f"https://{domain}/{session.room}?")
    axe(page)

    page.locator("#admit-button").click()
    expect(page.locator("#session-state")).to_have_attribute(
        "data-state", "in_progress"
    )
    page.locator("#end-button").click()
    expect(page.locator("#session-state")).to_have_attribute("data-state", "ended")

    session.refresh_from_db()
    appointment.refresh_from_db()
    assert session.admitted_at is not None
    assert appointment.state == Appointment.State.DONE
