"""The account pages and the file switcher in Chromium, on a phone and a desktop."""

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from conciergerie.accounts.roles import Role
from tests.factories import UserFactory
from tests.patients.factories import GuardianshipFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
PAGES = [
    "dashboard",
    "portal:account",
    "portal:notifications",
    "portal:privacy",
    "portal:security",
]


@pytest.fixture
def family():
    user = UserFactory(email="nadia.roux@example.fr", role=Role.PATIENT)
    parent = PatientFactory(
        user=user, first_names="Nadia", last_name="Roux", consented=True
    )
    child = GuardianshipFactory(
        guardian=user,
        patient=PatientFactory(minor=True, first_names="Jules", last_name="Roux"),
    ).patient
    return parent, child


def _sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )


@pytest.mark.parametrize("language", ["fr", "en"])
def test_account_pages_pass_axe_and_fit_a_phone(
    page, live_server, axe, family, language
):
    parent, _child = family
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    _sign_in(page, live_server, parent.user)
    findings: list[str] = []
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        for name in PAGES:
            response = page.goto(reverse(name))
            assert response is not None
            assert response.ok, name
            assert page.locator("html").get_attribute("lang") == language
            axe(page, collect=findings)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (name, viewport, overflow)
    assert not findings, "\n".join(findings)


def test_a_parent_switches_to_the_child_s_file_with_the_keyboard(
    page, live_server, family
):
    parent, child = family
    page.set_viewport_size(PHONE)
    page.context.add_cookies(
        [{"name": "django_language", "value": "en", "url": live_server.url}]
    )
    _sign_in(page, live_server, parent.user)
    page.goto(reverse("dashboard"))
    assert "Nadia Roux" in page.locator(".viewing-now").inner_text()

    choice = page.get_by_label("Switch to the file of")
    choice.select_option(child.reference)
    expect(choice).to_have_value(child.reference)
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").press("Enter")

    # Waits for the page the switch leads to (the redirect after the POST).
    expect(page.locator(".viewing-now")).to_contain_text("Jules Roux")
    assert "Here is what is coming up for Jules." in page.content()
