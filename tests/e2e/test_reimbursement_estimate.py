"""A signed-in patient simulates a reimbursement in Chromium, in French."""

import pytest
from django.test import Client

from reimbursements.tariffs import load_reference_data
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed_in_page(page, live_server):
    load_reference_data()  # a transactional test starts from flushed tables
    client = Client()
    client.force_login(UserFactory(email="nadia.roux@example.fr"))
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    return page


def test_a_patient_sees_what_a_specialist_visit_will_cost(signed_in_page):
    page = signed_in_page
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.goto("/reimbursements/estimate/")

    page.get_by_label("Acte").select_option("CS")
    page.get_by_label("Date de la consultation").fill("2026-03-10")
    page.get_by_label("Honoraires demandés (€)").fill("60")
    page.get_by_label("Secteur du praticien").select_option("sector_2_optam")
    page.get_by_label("Spécialité").select_option("cardiology")
    page.get_by_label("Mon médecin traitant m’a orienté").check()
    page.get_by_label("Âge du patient").fill("40")
    page.get_by_label("Garantie de la mutuelle (% de la base)").fill("200")
    page.get_by_role("button", name="Estimer").click()

    result = page.get_by_role("region", name="Votre estimation")
    result.wait_for()
    assert "20,05\xa0€" in result.inner_text()  # Assurance Maladie
    assert "37,95\xa0€" in result.inner_text()  # mutuelle
    assert page.get_by_role("table", name="Le détail du calcul").is_visible()
    assert violations == []


def test_bad_input_comes_back_with_errors_the_patient_can_reach(signed_in_page):
    page = signed_in_page
    page.goto("/reimbursements/estimate/")

    page.get_by_label("Honoraires demandés (€)").fill("trente")
    page.get_by_role("button", name="Estimer").click()

    summary = page.get_by_role("alert")
    summary.wait_for()
    assert "Merci de corriger les points suivants" in summary.inner_text()
    summary.get_by_role("link", name="Honoraires demandés (€)").click()
    assert page.evaluate("document.activeElement.id") == "id_fee"
    assert page.get_by_label("Honoraires demandés (€)").input_value() == "trente"
