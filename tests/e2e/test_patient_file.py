"""A patient signs up, completes their file, uploads a document, consents, reads
who accessed their file and exports their data, in French, in Chromium."""

import json
import re
import zipfile

import pytest
from django.core import mail

from tests.patients.factories import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "une phrase de passe solide"
EMAIL = "ines.girard@example.fr"
# The email field's French label depends on which catalogue words it.
EMAIL_LABEL = re.compile(r"^(E-mail|Courriel|Adresse e-mail)")


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _sign_up(page) -> None:
    page.goto("/")
    page.get_by_role("link", name="Créer mon compte").first.click()
    page.get_by_label(EMAIL_LABEL).fill(EMAIL)
    page.get_by_label("Mot de passe :", exact=True).fill(PASSWORD)
    page.get_by_label("Mot de passe (confirmation)").fill(PASSWORD)
    page.get_by_role("button", name="Création de compte").click()
    page.get_by_role("heading", name="Vérifiez votre adresse e-mail").wait_for()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)
    assert link is not None
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_role("heading", name=re.compile("Bonjour")).wait_for()


def test_a_patient_builds_and_exports_their_file(page, tmp_path):
    _sign_up(page)

    # Complete the file from the dashboard.
    page.get_by_role("link", name="Compléter mon dossier").first.click()
    page.locator("#id_last_name").fill("Girard")
    page.get_by_label("Prénoms").fill("Inès Marie")
    page.get_by_label("Date de naissance").fill("1995-10-04")
    page.get_by_label("Sexe").select_option("female")
    page.get_by_label("Numéro de sécurité sociale").fill("2 95 10 99 126 111 99")
    page.get_by_label("Téléphone mobile").fill("06 12 34 56 78")
    page.locator("#id_address_line").fill("12 rue des Lilas")
    page.get_by_label("Code postal").fill("69003")
    page.get_by_label("Ville").fill("Lyon")
    page.get_by_role("button", name="Enregistrer mon dossier").click()

    # A wrong NIR key: the error is in French, tied to its field, nothing saved.
    page.get_by_role(
        "heading", name="Merci de corriger les points suivants :"
    ).wait_for()
    nir = page.get_by_label("Numéro de sécurité sociale")
    assert nir.get_attribute("aria-invalid") == "true"
    assert "ne correspond pas à sa clé" in page.locator("#id_nir_error").inner_text()
    nir.fill("2 95 10 99 126 111 93")
    page.get_by_role("button", name="Enregistrer mon dossier").click()
    page.get_by_text("Votre dossier P-").wait_for()
    reference = re.search(
        r"P-[0-9A-Z]{6}", page.locator(".reference").first.inner_text()
    )
    assert reference is not None

    # Consent to the processing of health data.
    page.get_by_role("link", name="Consentements et partages").click()
    page.get_by_label(
        re.compile("Je consens au traitement des données de santé")
    ).check()
    page.get_by_role("button", name="Je consens").click()
    page.get_by_text("Merci : votre consentement est enregistré.").wait_for()

    # Upload a document.
    report = tmp_path / "compte-rendu.pdf"
    report.write_bytes(PDF_BYTES)
    page.get_by_role("link", name="Documents", exact=True).click()
    page.get_by_label("Fichier").set_input_files(str(report))
    page.get_by_label("Type").select_option("consultation_report")
    page.get_by_label("Titre").fill("Compte rendu de cardiologie")
    page.get_by_label("Source").fill("Dr Martin, cardiologue")
    page.get_by_role("button", name="Ajouter le document").click()
    page.get_by_text("Le document est ajouté au dossier.").wait_for()
    page.get_by_role("cell", name="Compte rendu de cardiologie", exact=True).wait_for()

    # Who accessed the file: the patient's own actions are there.
    page.get_by_role("link", name="Qui a consulté mon dossier").click()
    log = page.locator("table.access-log")
    log.wait_for()
    assert "Vous" in log.inner_text()
    assert "A créé — document" in log.inner_text()
    assert "A créé — consentement au traitement des données de santé" in (
        log.inner_text()
    )

    # Export everything.
    page.get_by_role("link", name="Mes droits sur mes données").click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Télécharger mes données").click()
    download = download_info.value
    archive_path = tmp_path / download.suggested_filename
    download.save_as(archive_path)

    assert download.suggested_filename.startswith(f"dossier-{reference.group(0)}-")
    with zipfile.ZipFile(archive_path) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("dossier.json"))
        document_file = data["documents"][0]["file"]
        assert archive.read(document_file) == PDF_BYTES
    assert {"dossier.json", "dossier.pdf"} <= set(names)
    assert data["identity"]["social_security_number"] == "295109912611193"
    assert data["documents"][0]["title"] == "Compte rendu de cardiologie"

    # The export itself now shows in the access log.
    page.get_by_role("link", name="Qui a consulté mon dossier").click()
    assert "A exporté" in page.locator("table.access-log").inner_text()
