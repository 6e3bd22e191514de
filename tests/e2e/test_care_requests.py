"""A patient asks for help in Chromium: danger words open the emergency path at once,
with the 15/112 banner first; an ordinary need goes through both steps."""

import pytest
from django.test import Client

from patients.models import CareRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ON_DUTY_EMAIL = "garde@conciergerie.local"


def sign_in(page, live_server, user) -> None:
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


def test_a_red_flag_request_shows_the_15_112_banner_and_lands_in_emergency(
    page, live_server, patient
):
    sign_in(page, live_server, patient.user)

    page.goto("/dashboard/")
    page.get_by_role("link", name="Demander de l'aide").first.click()
    page.get_by_label("Décrivez votre besoin avec vos mots").fill(
        "Depuis une heure j'ai une douleur dans la poitrine qui serre et qui "
        "descend dans le bras gauche."
    )
    page.get_by_role("button", name="Continuer").click()

    banner = page.get_by_test_id("emergency-banner")
    banner.wait_for()
    assert (
        banner.get_by_role("heading")
        .inner_text()
        .startswith("C'est peut-être une urgence : appelez le 15")
    )
    numbers = banner.locator(".emergency-number").all_inner_texts()
    assert numbers[:2] == ["15", "112"]
    assert set(numbers) == {"15", "112", "114", "3114"}
    assert (
        banner.get_by_role("link", name="15", exact=True).get_attribute("href")
        == "tel:15"
    )
    # The banner comes before anything else of the page's content.
    first = page.evaluate(
        "document.querySelector('main').querySelector('section, h1, form')"
        ".getAttribute('data-testid')"
    )
    assert first == "emergency-banner"
    care_request = CareRequest.objects.get()
    assert care_request.state == CareRequest.State.EMERGENCY
    assert care_request.red_flag_codes == ["chest_pain"]
    assert page.url.endswith(care_request.get_absolute_url())
    assert page.get_by_text(care_request.reference).first.is_visible()


def test_suicidal_words_put_the_3114_first(page, live_server, patient):
    sign_in(page, live_server, patient.user)

    page.goto("/patients/requests/new/")
    page.get_by_label("Décrivez votre besoin avec vos mots").fill(
        "Je n'en peux plus, j'ai des idées noires et envie de mourir."
    )
    page.get_by_role("button", name="Continuer").click()

    banner = page.get_by_test_id("emergency-banner")
    banner.wait_for()
    assert banner.locator(".emergency-number").first.inner_text() == "3114"
    assert CareRequest.objects.get().suicidal_risk


def test_an_ordinary_need_goes_through_both_steps(page, live_server, patient, tmp_path):
    screenshots = tmp_path
    sign_in(page, live_server, patient.user)

    page.goto("/patients/requests/new/")
    page.get_by_label("Décrivez votre besoin avec vos mots").fill(
        "J'ai mal au genou droit depuis une chute au ski, il gonfle le soir."
    )
    page.get_by_role("button", name="Continuer").click()
    page.get_by_text("D'après vos mots, nous pensons à").wait_for()
    page.get_by_role("radio", name="Genou").check()
    page.get_by_role("group", name="Suite à une chute ou un choc ?").get_by_role(
        "radio", name="Oui"
    ).check()
    page.get_by_label("Douleur de 0 à 10").fill("6")
    page.screenshot(path=str(screenshots / "intake-step-2.png"), full_page=True)
    page.get_by_role("button", name="Envoyer ma demande").click()

    page.get_by_role("heading", name="Où en est-elle").wait_for()
    care_request = CareRequest.objects.get()
    assert care_request.state == CareRequest.State.RECEIVED
    assert care_request.specialty == "orthopaedics"
    assert page.get_by_test_id("emergency-banner").count() == 0
    assert care_request.answers["body-part"]["answer"] == "Genou"
