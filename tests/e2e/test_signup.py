"""A patient signs up, verifies their email and logs in, in French, in Chromium."""

import re

import pytest
from django.core import mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "une phrase de passe solide"
# The email field's French label: "E-mail" here, "Courriel" in allauth's catalogue.
EMAIL_LABEL = re.compile(r"^(E-mail|Courriel|Adresse e-mail)")


def test_sign_up_verify_email_and_log_in(page):
    page.goto("/")
    page.get_by_role("link", name="Créer mon compte").first.click()

    page.get_by_label(EMAIL_LABEL).fill("ines.girard@example.fr")
    page.get_by_label("Mot de passe :", exact=True).fill(PASSWORD)
    page.get_by_label("Mot de passe (confirmation)").fill(PASSWORD)
    page.get_by_role("button", name="Création de compte").click()

    page.get_by_role("heading", name="Vérifiez votre adresse e-mail").wait_for()
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)
    assert link is not None

    page.goto(link.group(0))
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_role("heading", name=re.compile("Bonjour")).wait_for()

    page.get_by_role("button", name="Se déconnecter").click()
    page.goto("/accounts/login/")
    page.get_by_label(EMAIL_LABEL).fill("ines.girard@example.fr")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()

    page.get_by_role("heading", name=re.compile("Bonjour")).wait_for()
    assert page.url.endswith("/dashboard/")
