"""Account pages: notification preferences, privacy centre, security and sessions."""

from datetime import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conciergerie.portal.models import UserSession
from conciergerie.portal.sessions import describe_device
from tests.factories import PASSWORD


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.user)
    return client


@pytest.mark.parametrize("name", ["account", "notifications", "privacy", "security"])
def test_account_pages_answer(signed_in, name):
    response = signed_in.get(reverse(f"portal:{name}"))

    assert response.status_code == 200


def test_account_pages_ask_to_sign_in(client, db):
    response = client.get(reverse("portal:security"))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_notification_preferences_are_saved_on_the_file(signed_in, patient):
    response = signed_in.post(
        reverse("portal:notifications"),
        {
            "reminder_channel": "email",
            "quiet_hours_start": "21:00",
            "quiet_hours_end": "08:00",
            "preferred_language": "en",
        },
    )

    patient.refresh_from_db()
    patient.user.refresh_from_db()
    assert response.status_code == 302
    assert patient.reminder_channel == "email"
    assert (patient.quiet_hours_start, patient.quiet_hours_end) == (
        time(21),
        time(8),
    )
    assert patient.preferred_language == "en"
    assert patient.user.language == "en"
    assert response.cookies["django_language"].value == "en"


def test_half_quiet_hours_are_refused_with_what_to_do(signed_in, patient):
    response = signed_in.post(
        reverse("portal:notifications"),
        {
            "reminder_channel": "sms",
            "quiet_hours_start": "21:00",
            "preferred_language": "fr",
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors().data
    assert [error.code for error in errors] == ["quiet_hours_incomplete"]
    patient.refresh_from_db()
    assert patient.quiet_hours_start is None


def test_privacy_centre_gathers_consents_log_export_and_erasure(signed_in, patient):
    response = signed_in.get(reverse("portal:privacy"))

    page = response.content.decode()
    for name in ["consents", "access-log", "export", "rights"]:
        url = reverse(f"patients:{name}", kwargs={"reference": patient.reference})
        assert url in page


def test_signing_in_records_the_browser(client, patient):
    client.force_login(patient.user)

    rows = UserSession.objects.filter(user=patient.user)
    assert rows.count() == 1
    assert rows.get().session_key == client.session.session_key


def test_the_security_page_lists_open_sessions_and_marks_this_one(signed_in, patient):
    other = Client()
    other.force_login(patient.user)
    UserSession.objects.filter(session_key=other.session.session_key).update(
        user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/130"
    )

    response = signed_in.get(
        reverse("portal:security"), headers={"accept-language": "en"}
    )

    sessions = response.context["sessions"]
    assert len(sessions) == 2
    assert [item["is_current"] for item in sessions].count(True) == 1
    assert "Chrome on Android" in response.content.decode()


def test_signing_out_another_browser_ends_its_session(signed_in, patient):
    other = Client()
    other.force_login(patient.user)
    row = UserSession.objects.get(session_key=other.session.session_key)

    response = signed_in.post(reverse("portal:session-sign-out", args=[row.pk]))

    assert response.status_code == 302
    assert not Session.objects.filter(session_key=row.session_key).exists()
    assert other.get(reverse("dashboard")).status_code == 302
    assert signed_in.get(reverse("dashboard")).status_code == 200


def test_this_browser_cannot_be_signed_out_from_the_list(signed_in, patient):
    row = UserSession.objects.get(session_key=signed_in.session.session_key)

    signed_in.post(reverse("portal:session-sign-out", args=[row.pk]))

    row.refresh_from_db()
    assert row.ended_at is None
    assert signed_in.get(reverse("dashboard")).status_code == 200


def test_someone_else_s_session_cannot_be_signed_out(signed_in, other_patient, patient):
    stranger = Client()
    stranger.force_login(other_patient.user)
    row = UserSession.objects.get(user=other_patient.user)

    signed_in.post(reverse("portal:session-sign-out", args=[row.pk]))

    assert stranger.get(reverse("dashboard")).status_code == 200
    row.refresh_from_db()
    assert row.ended_at is None


def test_signing_out_every_other_browser_keeps_this_one(signed_in, patient):
    others = [Client(), Client()]
    for other in others:
        other.force_login(patient.user)

    signed_in.post(reverse("portal:sessions-sign-out-others"))

    assert [other.get(reverse("dashboard")).status_code for other in others] == [
        302,
        302,
    ]
    assert signed_in.get(reverse("dashboard")).status_code == 200
    assert UserSession.objects.filter(user=patient.user).open().count() == 1


def test_signing_out_closes_the_row(signed_in, patient):
    signed_in.post(reverse("account_logout"))

    assert UserSession.objects.filter(user=patient.user).open().count() == 0


def test_the_row_follows_the_key_after_a_password_change(signed_in, patient):
    response = signed_in.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a-New-long-passphrase-2026",
            "password2": "a-New-long-passphrase-2026",
        },
    )
    signed_in.get(reverse("dashboard"))

    row = UserSession.objects.get(user=patient.user)
    assert response.status_code == 302
    assert row.session_key == signed_in.session.session_key


@pytest.mark.parametrize(
    ("agent", "device"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1", "Safari on iPhone"),
        ("Mozilla/5.0 (X11; Linux x86_64) Gecko Firefox/128.0", "Firefox on Linux"),
        ("", "Unknown browser"),
    ],
)
def test_devices_get_plain_names(agent, device):
    with translation.override("en"):
        assert describe_device(agent) == device


def test_signing_in_forgets_the_sessions_already_closed(client, patient):
    first = Client()
    first.force_login(patient.user)
    first.post(reverse("account_logout"))

    client.force_login(patient.user)

    assert UserSession.objects.filter(user=patient.user).count() == 1
