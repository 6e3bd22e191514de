"""Every page of the patient's journey passes axe-core (WCAG 2.1 A/AA) with no
serious or critical violation, in French and in English, on a desktop screen and
on a 375 px phone; the portal works with the keyboard alone."""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments import services as appointments
from appointments.models import Face
from billing import services as billing
from conciergerie.accounts.roles import Role
from patients.models import CareRequest
from reimbursements import services as reimbursements
from reimbursements.models import ClaimDocument, Payer, SendingMethod
from reimbursements.tariffs import load_reference_data
from specialists.models import ConsultationType
from specialists.services import refresh_availability, refresh_search_columns
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@dataclass
class PortalScene:
    """Camille's portal with something on every page: her file and her son's,
    a document, requests, a proposal, a booking, an invoice, a quote and claims."""

    user: object
    patient: object
    child: object
    practitioner: object
    care_request: object
    proposal: object
    appointment: object
    held: object
    invoice: object
    quote: object
    claim: object
    free_slot: object


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


def build_portal_scene() -> PortalScene:
    """Build through the services what months of use would leave in the portal."""
    from importlib import import_module

    from django.apps import apps

    from billing.models import VatRate
    from tests.appointments.factories import free_slots, open_practitioner
    from tests.billing.factories import CustomerFactory, issued_invoice
    from tests.patients.factories import (
        CareRequestFactory,
        DocumentFactory,
        GuardianshipFactory,
        PatientFactory,
    )
    from tests.reimbursements.factories import RecordedActFactory, care_sheet, covered

    # A transactional test starts from flushed tables: reload the reference rows.
    load_reference_data()
    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)

    coordinator = UserFactory(
        email="hugo.bernard@example.fr", role=Role.CARE_COORDINATOR
    )
    user = UserFactory(
        email="camille.petit@example.fr",
        first_name="Camille",
        last_name="Petit",
        role=Role.PATIENT,
    )
    patient = PatientFactory(
        user=user,
        email=user.email,
        first_names="Camille",
        last_name="Petit",
        consented=True,
        with_profile=True,
    )
    covered(patient)
    child = GuardianshipFactory(
        guardian=user,
        patient=PatientFactory(
            minor=True, first_names="Léo", last_name="Petit", sex="male"
        ),
    ).patient
    DocumentFactory(patient=patient, title="Bilan sanguin")

    practitioner = open_practitioner(first_name="Élodie", last_name="Lefèvre")
    refresh_search_columns(practitioner_ids=[practitioner.pk])
    refresh_availability(practitioner_ids=[practitioner.pk])
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=2))
    appointment = appointments.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=ConsultationType.Kind.FIRST_VISIT,
        starts_at=slots[0].starts_at,
        by=user,
        via=Face.PORTAL,
    )
    held = appointments.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=ConsultationType.Kind.FIRST_VISIT,
        starts_at=slots[12].starts_at,
        by=user,
        via=Face.PORTAL,
        hold=True,
    )
    care_request = CareRequestFactory(patient=patient, state=CareRequest.State.RECEIVED)
    proposal = appointments.propose_slots(
        patient=patient,
        slots=[
            appointments.SlotChoice(
                practitioner=practitioner, kind=slot.kind, starts_at=slot.starts_at
            )
            for slot in slots[4:7]
        ],
        by=coordinator,
        message="Trois créneaux cette semaine.",
    )

    customer = CustomerFactory(user=user, name="Camille Petit", email=user.email)
    invoice = issued_invoice(customer, patient=patient)
    quote = billing.send_quote(
        quote=billing.create_quote(
            customer=customer,
            patient=patient,
            lines=[
                billing.LineSpec(
                    description="Accompagnement physique", unit_price=Decimal("45")
                )
            ],
        )
    )

    act = RecordedActFactory(patient=patient)
    claims = {
        claim.payer: claim
        for claim in reimbursements.open_claims_for_act(
            recorded_act=act, by=coordinator
        )
    }
    sheet = care_sheet(patient)
    for claim in claims.values():
        reimbursements.attach_documents(
            claim=claim,
            documents=[sheet],
            kind=ClaimDocument.Kind.CARE_SHEET,
            by=coordinator,
        )
        reimbursements.send_claim(claim=claim, by=coordinator, via=SendingMethod.POST)
    reimbursements.record_claim_payment(
        claim=claims[Payer.AMO], by=coordinator, amount=Decimal("20.05")
    )
    return PortalScene(
        user=user,
        patient=patient,
        child=child,
        practitioner=practitioner,
        care_request=care_request,
        proposal=proposal,
        appointment=appointment,
        held=held,
        invoice=invoice,
        quote=quote,
        claim=claims[Payer.AMC],
        free_slot=slots[10],
    )


PUBLIC_PAGES = ["home", "account_login", "account_signup", "account_reset_password"]


def portal_pages(scene: PortalScene) -> list[str]:
    """Every page a signed-in patient goes through, in the journey's order."""
    reference = scene.patient.reference
    booking = reverse(
        "appointments:book", kwargs={"public_id": scene.practitioner.public_id}
    )
    starts_at = scene.free_slot.starts_at.isoformat()
    return [
        reverse("dashboard"),
        reverse("portal:account"),
        reverse("portal:notifications"),
        reverse("portal:privacy"),
        reverse("portal:security"),
        reverse("patients:index"),
        reverse("patients:detail", kwargs={"reference": reference}),
        reverse("patients:identity", kwargs={"reference": reference}),
        reverse("patients:insurance", kwargs={"reference": reference}),
        reverse("patients:medical", kwargs={"reference": reference}),
        reverse("patients:detail", kwargs={"reference": scene.child.reference}),
        reverse("patients:add-dependant"),
        reverse("patients:documents", kwargs={"reference": reference}),
        reverse("patients:consents", kwargs={"reference": reference}),
        reverse("patients:access-log", kwargs={"reference": reference}),
        reverse("patients:rights", kwargs={"reference": reference}),
        reverse("patients:care-requests"),
        reverse("patients:care-request-new"),
        scene.care_request.get_absolute_url(),
        reverse("appointments:index"),
        reverse(
            "appointments:detail", kwargs={"public_id": scene.appointment.public_id}
        ),
        reverse(
            "appointments:prepare", kwargs={"public_id": scene.appointment.public_id}
        ),
        f"{booking}?starts_at={starts_at}&kind={scene.free_slot.kind}",
        reverse("appointments:hold", kwargs={"public_id": scene.held.public_id}),
        reverse(
            "appointments:proposal", kwargs={"public_id": scene.proposal.public_id}
        ),
        reverse("specialists:search") + "?specialty=cardiology",
        scene.practitioner.get_absolute_url(),
        reverse("billing:index"),
        scene.invoice.get_absolute_url(),
        reverse("billing:quote", kwargs={"public_id": scene.quote.public_id}),
        reverse("reimbursements:index"),
        reverse("reimbursements:estimate"),
        reverse("reimbursements:claim", kwargs={"public_id": scene.claim.public_id}),
        reverse("teleconsult:device-check"),
        reverse("offline"),
    ]


def open_page(page, url: str, language: str, findings: list[str]) -> None:
    """Open a page, check it answered in the language asked for and fits the
    screen's width (nothing to scroll sideways on a phone)."""
    response = page.goto(url)
    assert response is not None, url
    assert response.ok, (url, response.status)
    assert page.locator("html").get_attribute("lang") == language
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > page.viewport_size["width"]:
        findings.append(f"{url}: {width} px wide on a {page.viewport_size} screen")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_portal_page_passes_axe_on_desktop_and_phone(
    page, live_server, axe, language
):
    scene = build_portal_scene()
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    findings: list[str] = []
    visited = 0
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.context.clear_cookies(name="sessionid")
        for name in PUBLIC_PAGES:
            open_page(page, reverse(name), language, findings)
            axe(page, collect=findings)
            visited += 1
        sign_in(page, live_server, scene.user)
        for url in portal_pages(scene):
            open_page(page, url, language, findings)
            axe(page, collect=findings)
            visited += 1
    assert visited == 2 * (len(PUBLIC_PAGES) + len(portal_pages(scene)))
    assert not findings, "\n".join(findings)


def tab_to(page, selector: str, *, limit: int = 60) -> int:
    """Press Tab until the focus is on `selector`; how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} never took the focus in {limit} presses")


def test_the_skip_link_comes_first_and_leads_to_the_content(page, axe):
    page.goto(reverse("account_login"))

    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.get_attribute("href") == "#main"
    assert skip.inner_text() == "Aller au contenu principal"
    assert skip.is_visible()  # hidden until focused, then shown
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    axe(page)


def test_signing_in_with_the_keyboard_alone(page):
    user = UserFactory(email="nadia.roux@example.fr", password="une phrase solide")
    page.goto(reverse("account_login"))

    tab_to(page, "input[name=login]")
    page.keyboard.type(user.email)
    tab_to(page, "input[name=password]", limit=3)
    page.keyboard.type("une phrase solide")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile("/dashboard/$"))
    page.get_by_role("heading", name=re.compile("Bonjour")).wait_for()


def test_asking_for_help_with_the_keyboard_alone(page, live_server, patient, axe):
    sign_in(page, live_server, patient.user)
    page.goto(reverse("patients:care-request-new"))

    tab_to(page, "textarea[name=start-need]")
    page.keyboard.type(
        "J'ai des plaques rouges qui grattent sur les bras depuis un mois."
    )
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")

    page.get_by_text("D'après vos mots, nous pensons à").wait_for()
    axe(page)
    presses = tab_to(page, "form.form-card button[type=submit]", limit=120)
    assert presses > 3  # the questions and preferences came first
    page.keyboard.press("Enter")

    # The dermatologist's two required questions were skipped: the errors are
    # listed first and each is tied to its field.
    summary = page.get_by_role("alert")
    summary.wait_for()
    assert "Merci de corriger les points suivants" in summary.inner_text()
    location = page.locator("#id_details-q_location")
    assert location.get_attribute("aria-invalid") == "true"
    error_id = location.get_attribute("aria-describedby")
    assert "obligatoire" in page.locator(f"#{error_id}").inner_text()
    axe(page)

    tab_to(page, "#id_details-q_location")
    page.keyboard.type("Les avant-bras")
    tab_to(page, "input[name=details-q_changing-mole]")
    page.keyboard.press("Space")
    tab_to(page, "form.form-card button[type=submit]", limit=120)
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Où en est-elle").wait_for()
    care_request = CareRequest.objects.get()
    assert care_request.patient == patient
    assert care_request.specialty == "dermatology"
