"""The whole patient journey in Chromium, in French and then in English.

A parent signs up, verifies their email, completes their file and their son's,
describes his need; a concierge proposes teleconsultation slots; the parent picks
one and is sent the confirmation, checks their camera and microphone, waits in the
waiting room and is admitted; then downloads the invoice, follows the expected
reimbursement, answers the satisfaction survey and exports their data. Every page
on the way passes axe-core with no serious or critical violation.

The concierge's and the practitioner's sides run through the same services as
the back-office; the video server is a stand-in answered through Playwright's
routing, since no other host is reachable.
"""

import json
import re
import zipfile
from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from appointments import services as appointments
from appointments.models import Appointment
from appointments.surveys_models import SatisfactionSurvey
from billing.models import VatRate
from conciergerie.accounts.roles import Role
from patients.models import CareRequest, Patient
from reimbursements import services as reimbursements
from reimbursements.models import ClaimDocument, SendingMethod
from reimbursements.tariffs import load_reference_data
from specialists.models import ConsultationType
from teleconsult.models import TeleconsultationSession
from teleconsult.services import sessions
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "une phrase de passe solide"

#: The constructor of Jitsi's external_api.js, building a titled frame.
STAND_IN_API = """
window.JitsiMeetExternalAPI = function (domain, options) {
  var frame = document.createElement("iframe");
  frame.title = "Jitsi Meet";
  frame.allow = "camera; microphone; display-capture";
  frame.src = "https://" + domain + "/" + encodeURIComponent(options.roomName);
  options.parentNode.appendChild(frame);
  this.dispose = function () { frame.remove(); };
};
"""

#: What the patient reads at each step, in each language.
WORDS = {
    "fr": {
        "create_account": "Créer mon compte",
        "greeting": re.compile("Bonjour"),
    },
    "en": {
        "create_account": "Create my account",
        "greeting": re.compile("Hello"),
    },
}


@pytest.fixture(autouse=True)
def _scenery(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VIDEO_PROVIDER = "tests.teleconsult.conftest.FakeProvider"
    settings.VIDEO_DOMAIN = "meet.conciergerie.local"
    settings.SPECIALISTS_BUSY_INTERVALS = "appointments.availability.busy_intervals"
    # A transactional test may start from flushed tables: reload reference rows.
    load_reference_data()
    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)


class Journey:
    """The browser page, the language, and axe run on every page reached."""

    def __init__(self, page, axe, language: str):
        self.page = page
        self.axe = axe
        self.language = language
        self.words = WORDS[language]
        self.findings: list[str] = []
        self.audited: list[str] = []

    def audit(self) -> None:
        self.page.wait_for_load_state("load")
        assert self.page.locator("html").get_attribute("lang") == self.language
        self.axe(self.page, collect=self.findings)
        self.audited.append(self.page.url)

    def submit(self, form: str, button: str = "button[type=submit]") -> None:
        """Send a form by its (last) submit button and audit the page that answers."""
        with self.page.expect_navigation():
            self.page.locator(form).locator(button).last.click()
        self.audit()

    def link_from_mail(self, pattern: str, to: str) -> str:
        """The path of the newest email to `to` whose body holds `pattern`."""
        for message in reversed(mail.outbox):
            found = re.search(pattern, message.body)
            if to in message.to and found:
                return re.sub(r"^https?://[^/]+", "", found.group(0))
        raise AssertionError(f"no email to {to} with {pattern}")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_whole_journey_of_a_parent(page, live_server, axe, language):
    journey = Journey(page, axe, language)
    email = f"ines.girard.{language}@example.fr"
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )

    # 1. Sign up from the home page, verify the address from the email.
    page.goto("/")
    journey.audit()
    page.get_by_role("link", name=journey.words["create_account"]).first.click()
    journey.audit()
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    journey.submit("form[action$='/accounts/signup/']")
    assert page.url.endswith("/accounts/confirm-email/")
    page.goto(
        journey.link_from_mail(r"https?://\S+/accounts/confirm-email/\S+/", email)
    )
    journey.audit()
    journey.submit("main form")
    page.get_by_role("heading", name=journey.words["greeting"]).wait_for()
    user = get_user_model().objects.get(email=email)

    # 2. Complete the file, then the son's.
    page.locator("main a[href$='/patients/new/']").first.click()
    journey.audit()
    page.locator("#id_last_name").fill("Girard")
    page.locator("#id_first_names").fill("Inès")
    page.locator("#id_birth_date").fill("1988-05-14")
    page.locator("#id_sex").select_option("female")
    page.locator("#id_mobile_phone").fill("06 12 34 56 78")
    page.locator("#id_address_line").fill("12 rue des Lilas")
    page.locator("#id_postal_code").fill("69003")
    page.locator("#id_city").fill("Lyon")
    page.locator("#id_health_data_consent").check()
    journey.submit("main form.form-card")
    parent = Patient.objects.get(user=user)
    assert parent.reference in page.locator("main").inner_text()

    page.goto(reverse("patients:add-dependant"))
    journey.audit()
    page.locator("#id_relationship").select_option("parent")
    page.locator("#id_last_name").fill("Girard")
    page.locator("#id_first_names").fill("Léo")
    child_birth = timezone.localdate() - timedelta(days=365 * 7)
    page.locator("#id_birth_date").fill(child_birth.isoformat())
    page.locator("#id_sex").select_option("male")
    page.locator("#id_postal_code").fill("69003")
    page.locator("#id_city").fill("Lyon")
    page.locator("#id_health_data_consent").check()
    journey.submit("main form.form-card")
    child = Patient.objects.managed_by(user).get(first_names="Léo")
    assert child.reference in page.locator("main").inner_text()

    # 3. Describe the son's need; the two required questions are answered.
    page.goto(reverse("patients:care-request-new"))
    journey.audit()
    page.locator(f"input[name=start-patient][value={child.reference}]").check()
    page.locator("textarea[name=start-need]").fill(
        "Des plaques rouges qui grattent sur les bras depuis un mois."
    )
    page.locator("select[name=start-specialty]").select_option("dermatology")
    journey.submit("main form.form-card")
    page.locator("#id_details-q_location").fill("Les avant-bras")
    page.locator("input[name=details-q_changing-mole][value=no]").check()
    journey.submit("main form.form-card")
    care_request = CareRequest.objects.get(patient=child)
    assert care_request.reference in page.locator("main").inner_text()

    # 4. A concierge proposes three teleconsultation slots; the parent picks one.
    from tests.appointments.factories import free_slots, open_practitioner

    coordinator = UserFactory(role=Role.CARE_COORDINATOR)
    practitioner = open_practitioner(
        specialties=("dermatology",), first_name="Élodie", last_name="Lefèvre"
    )
    slots = free_slots(
        practitioner,
        kind=ConsultationType.Kind.TELECONSULTATION,
        after=timezone.now() + timedelta(days=2),
    )[:3]
    appointments.propose_slots(
        patient=child,
        slots=[
            appointments.SlotChoice(
                practitioner=practitioner, kind=slot.kind, starts_at=slot.starts_at
            )
            for slot in slots
        ],
        by=coordinator,
        care_request=care_request,
        message="Trois créneaux en vidéo.",
    )
    page.goto(journey.link_from_mail(r"https?://\S+/appointments/p/\S+/", email))
    journey.audit()
    with page.expect_navigation():
        page.locator("main button[name=action][value=pick]").nth(1).click()
    journey.audit()
    sent_before = len(mail.outbox)
    journey.submit("main form", "button[name=action][value=confirm]")
    appointment = Appointment.objects.get(patient=child)
    assert appointment.state == Appointment.State.BOOKED
    assert appointment.starts_at == slots[1].starts_at
    assert appointment.is_video
    confirmations = [m for m in mail.outbox[sent_before:] if email in m.to]
    assert confirmations, "the booking is confirmed by email"

    # 5. Time passes: the consultation's hour has come. The device check, then
    #    the waiting room, where the practitioner admits the patient.
    page.context.route(re.compile(r"https://meet\.conciergerie\.local/.*"), _video)
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - timedelta(minutes=2),
        ends_at=timezone.now() + timedelta(minutes=18),
    )
    page.goto(appointment.get_absolute_url())
    journey.audit()
    room = TeleconsultationSession.objects.get(appointment=appointment)
    page.goto(f"{reverse('teleconsult:device-check')}?next={room.get_absolute_url()}")
    journey.audit()
    page.locator("#start-check").click()
    for check in ("camera", "microphone", "connection"):
        expect(page.locator(f'[data-check="{check}"]')).to_have_attribute(
            "data-status", "pass"
        )
    journey.audit()
    page.locator("#to-waiting-room").click()
    page.wait_for_url(re.compile(re.escape(room.get_absolute_url()) + "$"))
    expect(page.locator("#session-state")).to_have_attribute("data-state", "waiting")
    journey.audit()
    visitor = sessions.practitioner_visitor(None, appointment, via="pass")
    sessions.admit_patient(session=room, by=visitor)
    expect(page.locator("#session-state")).to_have_attribute(
        "data-state", "in_progress"
    )
    expect(page.locator("#video iframe")).to_have_count(1)
    room.refresh_from_db()
    sessions.end_session(session=room, by=visitor)
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.DONE

    # 6. The invoice: the parent downloads it.
    from tests.billing.factories import CustomerFactory, issued_invoice, lines

    customer = CustomerFactory(user=user, name="Inès Girard", email=email)
    invoice = issued_invoice(
        customer,
        lines(("Organisation d'une téléconsultation", 1, "49.00")),
        patient=child,
    )
    page.goto(reverse("billing:index"))
    journey.audit()
    page.locator(f"main a[href='{invoice.get_absolute_url()}']").first.click()
    journey.audit()
    pdf = reverse("billing:invoice-pdf", kwargs={"public_id": invoice.public_id})
    with page.expect_download() as download:
        page.locator(f"main a[href='{pdf}']").first.click()
    assert download.value.suggested_filename == f"{invoice.number}.pdf"

    # 7. The expected reimbursement of the visit, once the claims are sent.
    from tests.reimbursements.factories import RecordedActFactory, care_sheet, covered

    covered(child)
    act = RecordedActFactory(patient=child, performed_on=timezone.localdate())
    for claim in reimbursements.open_claims_for_act(recorded_act=act, by=coordinator):
        reimbursements.attach_documents(
            claim=claim,
            documents=[care_sheet(child)],
            kind=ClaimDocument.Kind.CARE_SHEET,
            by=coordinator,
        )
        reimbursements.send_claim(claim=claim, by=coordinator, via=SendingMethod.POST)
    page.goto(reverse("reimbursements:index"))
    journey.audit()
    expected = page.locator("main").inner_text()
    assert re.search(r"20[,.]05", expected), "the Assurance Maladie's share"
    assert re.search(r"37[,.]95", expected), "the mutuelle's share"

    # 8. The satisfaction survey.
    page.goto(
        reverse("appointments:survey", kwargs={"public_id": appointment.public_id})
    )
    journey.audit()
    page.locator("input[name=satisfaction][value='5']").check()
    page.locator("input[name=recommend][value='9']").check()
    page.locator("textarea[name=comment]").fill("Très clair, merci.")
    journey.submit("main form")
    survey = SatisfactionSurvey.objects.get(appointment=appointment)
    assert survey.answered_at is not None
    assert survey.satisfaction == 5

    # 9. Export the data of the parent's file.
    page.goto(reverse("patients:rights", kwargs={"reference": parent.reference}))
    journey.audit()
    with page.expect_download() as download:
        page.locator("form[action$='/export/'] button[type=submit]").click()
    archive_path = download.value.path()
    with zipfile.ZipFile(archive_path) as archive:
        data = json.loads(archive.read("dossier.json"))
    assert data["identity"]["last_name"] == "Girard"

    assert len(journey.audited) >= 20
    assert not journey.findings, "\n".join(journey.findings)


def _video(route):
    """The video server's iframe API and its frame, answered without a network."""
    if route.request.url.endswith("/external_api.js"):
        route.fulfill(content_type="text/javascript", body=STAND_IN_API)
    else:
        route.fulfill(content_type="text/html", body="<!doctype html><p>video")
