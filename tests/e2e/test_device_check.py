"""The device check in Chromium with fake camera and microphone."""

import re

import pytest
from playwright.sync_api import expect

from teleconsult.models import SupportTicket
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_patient_passes_the_device_check_and_asks_for_help(page, live_server):
    user = UserFactory(email="julie.blanc@example.fr")
    page.context.add_cookies([_session_cookie(user, live_server.url)])

    page.goto("/teleconsultations/device-check/")
    page.get_by_role("button", name="Lancer la vérification").click()

    expect(page.locator('[data-check="camera"]')).to_have_attribute(
        "data-status", "pass"
    )
    expect(page.locator('[data-check="microphone"]')).to_have_attribute(
        "data-status", "pass"
    )
    expect(page.locator('[data-check="connection"]')).to_have_attribute(
        "data-status", "pass"
    )

    page.get_by_role("button", name="Faire un son d'essai").click()
    page.get_by_role("button", name="Non").click()
    assert page.locator('[data-check="speaker"]').get_attribute("data-status") == "fail"

    page.get_by_label("Que se passe-t-il ? (facultatif)").fill("Je n'entends rien")
    page.get_by_role("button", name="J'ai besoin d'aide").click()
    page.get_by_text(re.compile("un concierge va vous rappeler")).wait_for()

    ticket = SupportTicket.objects.get(opened_by=user)
    assert ticket.check_results["camera"]["status"] == "pass"
    assert ticket.failed_checks == ["speaker"]


def _session_cookie(user, url):
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": session.session_key,
        "url": url,
    }
