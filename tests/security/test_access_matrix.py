"""Every route that names an object, tried by people who do not own it: 0 successes.

The routes come from walking the resolver of `conciergerie.urls` (portal, back-office,
API, FHIR, OAuth and account pages), so a route added later is tried too. Each route
whose path takes an id, a reference, a uuid or a token must appear in one registry:

- `OWNED`: the route names an object of Camille (a patient, her child, her
  appointment, her invoice…) or of the Clinique du Parc (a partner). The factory
  returns the URL arguments of that object.
- `TOKENS`: the route is opened by a signed link. The factory returns a forged
  link for Camille's object: a genuine signature made for another purpose, or
  for another kind of link, which must open nothing.
- `ADMIN_MODELS`: every back-office page of one model, keyed by model label.
- `PUBLIC`: directory pages anyone may read, with the reason. They are still tried
  with every method: nothing may be written and nothing may fail with a 500.
- `THIRD_PARTY_LINKS`: pages of django-allauth that answer an unknown key with an
  explanation page (200); the test checks that nothing changed behind them.

A route missing from every registry fails the test with its name.

Foreign identities: anonymous, another patient, the guardian of another child, a
practitioner not involved, a partner of another organisation (OAuth2 bearer
token), and on portal routes the back-office roles too (staff work in the
back-office; the portal is the patient's). Every method (GET, POST, PUT, PATCH,
DELETE) is tried; the only answers allowed are 401, 403, 404, 405, 410 (a link
withdrawn or expired) and a redirect to a sign-in page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from oauth2_provider.models import AccessToken

from conciergerie.accounts.roles import Role
from teleconsult import links as video_links
from tests.factories import TOTPDeviceFactory, UserFactory

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
REFUSED = {401, 403, 404, 405, 410}
ADMIN_PREFIX = settings.ADMIN_URL


# --- The routes ---


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the path pattern for unnamed routes
    pattern: str
    parameters: tuple[str, ...]


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = (
                    f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                )
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            name = entry.name and (
                f"{namespace}:{entry.name}" if namespace else entry.name
            )
            parameters = tuple(entry.pattern.regex.groupindex)
            yield Route(name or pattern, pattern, parameters)


def object_routes() -> list[Route]:
    """Every route of the project whose path takes an argument."""
    routes = [
        route
        for route in _walk(get_resolver("conciergerie.urls").url_patterns)
        if route.parameters or "(?P<" in route.pattern
    ]
    return sorted(set(routes), key=lambda route: route.name)


def _admin_model(route: Route) -> str | None:
    """`app_label.model_name` of a back-office route, None elsewhere."""
    if not route.pattern.startswith(ADMIN_PREFIX):
        return None
    parts = route.pattern[len(ADMIN_PREFIX) :].split("/")
    if len(parts) >= 2 and apps.all_models.get(parts[0], {}).get(parts[1]):
        return f"{parts[0]}.{parts[1]}"
    return "admin.site"


# --- The world: what Camille and the Clinique du Parc own ---


@dataclass
class World:
    camille: Any
    patient: Any
    child: Any
    guardian_of_child: Any
    document: Any
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["objects"][name]
        except KeyError as error:
            raise AttributeError(name) from error


def build_world() -> World:  # noqa: PLR0915 - one scene, read top to bottom
    from appointments import links
    from appointments.models import (
        CalendarFeed,
        Face,
        Pharmacy,
        PreConsultationShare,
        PrescriptionTransmission,
        ReportRequest,
        SlotProposal,
        WaitlistEntry,
    )
    from billing import services as billing
    from conciergerie.partners import services as partners
    from conciergerie.partners.models import EventType
    from patients.services import care_team
    from tests.appointments.factories import AppointmentFactory, open_practitioner
    from tests.billing.factories import CustomerFactory, issued_invoice, lines
    from tests.patients.factories import (
        CareRequestFactory,
        DocumentFactory,
        ErasureRequestFactory,
        GuardianshipFactory,
        PatientFactory,
        SharingConsentFactory,
    )
    from tests.reimbursements.factories import sent_claim

    _ensure_billing_catalogue()
    camille = UserFactory(email="camille.owner@example.fr", role=Role.PATIENT)
    patient = PatientFactory(user=camille, email=camille.email, consented=True)
    guardianship = GuardianshipFactory(guardian=camille)
    adviser = UserFactory(email="owner.adviser@example.fr", role=Role.MEDICAL_ADVISER)
    coordinator = UserFactory(
        email="owner.coordinator@example.fr", role=Role.CARE_COORDINATOR
    )
    document = DocumentFactory(patient=patient, uploaded_by=camille)
    world = World(
        camille=camille,
        patient=patient,
        child=guardianship.patient,
        guardian_of_child=guardianship,
        document=document,
    )
    o = world.objects
    o["guardianship"] = guardianship
    o["practitioner_user"] = UserFactory(
        email="owner.practitioner@example.fr", role=Role.PRACTITIONER
    )
    o["sharing"] = SharingConsentFactory(
        patient=patient, recipient=o["practitioner_user"], granted_by=camille
    )
    o["erasure"] = ErasureRequestFactory(patient=patient, requested_by=camille)
    o["care_request"] = CareRequestFactory(patient=patient)
    o["care_plan"] = care_team.save_care_plan(
        patient=patient, by=adviser, goals="Marcher 30 minutes par jour"
    )
    practitioner = open_practitioner(user=o["practitioner_user"])
    o["practitioner"] = practitioner
    appointment = AppointmentFactory(patient=patient, practitioner=practitioner)
    o["appointment"] = appointment
    o["child_appointment"] = AppointmentFactory(
        patient=world.child,
        practitioner=practitioner,
        starts_at=appointment.starts_at + timedelta(hours=2),
    )
    o["video"] = AppointmentFactory(
        patient=patient,
        practitioner=practitioner,
        mode=appointment.Mode.VIDEO,
        place=None,
        starts_at=appointment.starts_at + timedelta(hours=4),
    )
    _late_arrivals(world)
    o["proposal"] = SlotProposal.objects.create(
        patient=patient,
        created_by=coordinator,
        expires_at=timezone.now() + timedelta(days=3),
    )
    o["waitlist"] = WaitlistEntry.objects.create(
        patient=patient,
        practitioner=practitioner,
        consultation_kind=appointment.consultation_kind,
    )
    o["pre_consultation"] = PreConsultationShare.objects.create(
        appointment=appointment,
        practitioner=practitioner,
        consent_channel=Face.PORTAL,
        expires_at=timezone.now() + timedelta(days=3),
    )
    o["report"] = ReportRequest.objects.create(appointment=appointment)
    pharmacy = Pharmacy.objects.create(
        name="Pharmacie du Marché", email="pharmacie@example.fr"
    )
    o["prescription"] = PrescriptionTransmission.objects.create(
        patient=patient,
        pharmacy=pharmacy,
        pharmacy_email=pharmacy.email,
        expires_at=timezone.now() + timedelta(days=3),
    )
    o["feed"] = CalendarFeed.objects.create(patient=patient)
    o["links"] = links

    customer = CustomerFactory(user=camille, name="Camille Petit", email=camille.email)
    o["invoice"] = issued_invoice(customer)
    o["credit_note"] = billing.create_credit_note(invoice=o["invoice"], reason="Erreur")
    o["quote"] = billing.send_quote(
        quote=billing.create_quote(
            customer=customer, lines=lines(("Accompagnement", 2, "45.00"))
        )
    )
    o["claim"] = sent_claim(by=coordinator, patient=patient)

    # The Clinique du Parc: a partner whose webhooks and invoices are its own.
    clinic = partners.create_organisation(
        name="Clinique du Parc", kind="clinic", technical_email="it@parc.example.fr"
    )
    o["clinic"] = clinic
    profile, _secret = partners.create_application(
        organisation=clinic, name="Clinique du Parc API", scopes=["patients:read"]
    )
    o["clinic_app"] = profile.application
    o["clinic_token"] = AccessToken.objects.create(
        application=profile.application,
        token=f"clinic-{uuid.uuid4().hex}",
        scope="patients:read",
        expires=timezone.now() + timedelta(hours=1),
    )
    o["subscription"], _secret = partners.subscribe(
        organisation=clinic,
        url="https://hooks.clinique-parc.example/conciergerie",
        event_types=[EventType.INVOICE_ISSUED],
    )
    event = partners.publish_event(
        event_type=EventType.INVOICE_ISSUED,
        organisations=[clinic],
        payload={"id": str(o["invoice"].public_id)},
    )
    o["delivery"] = event.deliveries.get()
    o["adviser"] = adviser
    return world


def _late_arrivals(world: World) -> None:
    """Objects of the teleconsultation, survey and account pages."""
    from appointments.surveys_models import SatisfactionSurvey
    from conciergerie.portal.models import UserSession
    from teleconsult.services.sessions import ensure_session

    o = world.objects
    o["teleconsultation"] = ensure_session(appointment=o["video"])
    o["survey"] = SatisfactionSurvey.objects.create(
        appointment=o["appointment"], due_at=timezone.now()
    )
    o["browser"] = UserSession.objects.create(
        user=world.camille, session_key="c" * 40, user_agent="Firefox"
    )


def _resigned(token: str, salt: str, other_salt: str) -> str:
    """A genuine link's content, signed again for the other kind of link."""
    value = signing.TimestampSigner(salt=salt, sep=".").unsign(token)
    return signing.TimestampSigner(salt=other_salt, sep=".").sign(value)


def _ensure_billing_catalogue() -> None:
    """VAT rates and services come from a data migration a flush may have emptied."""
    from importlib import import_module

    from billing.models import VatRate

    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)


def _forged(world: World, purpose: str, public_id: uuid.UUID) -> str:
    """A genuine signature over the right object, made for another kind of link."""
    links = world.links
    other = links.Purpose.ICS if purpose != links.Purpose.ICS else links.Purpose.ACTION
    return links.make_token(other, public_id)


# --- The registries ---

Factory = Callable[[World], dict[str, Any]]


def _ref(w: World) -> dict[str, Any]:
    return {"reference": w.patient.reference}


OWNED: dict[str, Factory] = {
    # Patient portal: Camille's file, her child's file, her requests and documents.
    "patients:detail": _ref,
    "patients:identity": _ref,
    "patients:insurance": _ref,
    "patients:medical": _ref,
    "patients:documents": _ref,
    "patients:document-download": lambda w: {
        **_ref(w),
        "document_id": w.document.pk,
    },
    "patients:summary": _ref,
    "patients:consents": _ref,
    "patients:consent-give": lambda w: {"reference": w.child.reference},
    "patients:consent-withdraw": _ref,
    "patients:share": _ref,
    "patients:share-revoke": lambda w: {
        **_ref(w),
        "consent_id": w.sharing.pk,
    },
    "patients:access-log": _ref,
    "patients:rights": _ref,
    "patients:export": _ref,
    "patients:erasure": lambda w: {"reference": w.child.reference},
    "patients:care-plan": _ref,
    "patients:care-request": lambda w: {"reference": w.care_request.reference},
    "patients:care-request-message": lambda w: {"reference": w.care_request.reference},
    "patients:care-request-cancel": lambda w: {"reference": w.care_request.reference},
    "appointments:detail": lambda w: {"public_id": w.appointment.public_id},
    "appointments:hold": lambda w: {"public_id": w.appointment.public_id},
    "appointments:confirm": lambda w: {"public_id": w.appointment.public_id},
    "appointments:cancel": lambda w: {"public_id": w.appointment.public_id},
    "appointments:reschedule": lambda w: {"public_id": w.child_appointment.public_id},
    "appointments:waitlist": lambda w: {"public_id": w.appointment.public_id},
    "appointments:prepare": lambda w: {"public_id": w.appointment.public_id},
    "appointments:share": lambda w: {"public_id": w.appointment.public_id},
    "appointments:calendar": lambda w: {"public_id": w.appointment.public_id},
    "appointments:send-prescription": lambda w: {"public_id": w.appointment.public_id},
    "appointments:proposal": lambda w: {"public_id": w.proposal.public_id},
    "appointments:leave": lambda w: {"public_id": w.waitlist.public_id},
    "appointments:unshare": lambda w: {"public_id": w.pre_consultation.public_id},
    "appointments:pharmacy": _ref,
    "appointments:feed-manage": _ref,
    "billing:quote": lambda w: {"public_id": w.quote.public_id},
    "billing:quote-accept": lambda w: {"public_id": w.quote.public_id},
    "billing:quote-refuse": lambda w: {"public_id": w.quote.public_id},
    "billing:quote-pdf": lambda w: {"public_id": w.quote.public_id},
    "billing:invoice": lambda w: {"public_id": w.invoice.public_id},
    "billing:invoice-pdf": lambda w: {"public_id": w.invoice.public_id},
    "billing:credit-note-pdf": lambda w: {"public_id": w.credit_note.public_id},
    "reimbursements:claim": lambda w: {"public_id": w.claim.public_id},
    "reimbursements:claim-proof": lambda w: {"public_id": w.claim.public_id},
    "appointments:survey": lambda w: {"public_id": w.appointment.public_id},
    "portal:session-sign-out": lambda w: {"session_id": w.browser.pk},
    "teleconsult:waiting-room": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:status": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:share": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:document": lambda w: {
        "public_id": w.teleconsultation.public_id,
        "document_id": w.document.pk,
    },
    "teleconsult:phone-fallback": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:console": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:admit": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:end": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:no-show": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:notes": lambda w: {"public_id": w.teleconsultation.public_id},
    "teleconsult:appointment-entry": lambda w: {"public_id": w.video.public_id},
    "api-teleconsultation": lambda w: {"public_id": w.teleconsultation.public_id},
    # Partner API: Camille's data and the Clinique du Parc's subscriptions.
    "api-patient-detail": _ref,
    "api-patient-documents": _ref,
    "api-care-request-detail": lambda w: {"reference": w.care_request.reference},
    "api-care-request-transition": lambda w: {"reference": w.care_request.reference},
    "api-appointment": lambda w: {"public_id": w.appointment.public_id},
    "api-appointment-cancel": lambda w: {"public_id": w.appointment.public_id},
    "api-appointment-reschedule": lambda w: {"public_id": w.appointment.public_id},
    "api-invoice": lambda w: {"id": w.invoice.public_id},
    "api-invoice-pdf": lambda w: {"id": w.invoice.public_id},
    "api-invoice-xml": lambda w: {"id": w.invoice.public_id},
    "api-claim": lambda w: {"id": w.claim.public_id},
    "api-claim-acknowledge": lambda w: {"id": w.claim.public_id},
    "api-claim-pay": lambda w: {"id": w.claim.public_id},
    "api-claim-reject": lambda w: {"id": w.claim.public_id},
    "api-claim-document": lambda w: {
        "id": w.claim.public_id,
        "document_id": w.claim.attachments.first().document_id,
    },
    "api-webhook": lambda w: {"id": w.subscription.public_id},
    "api-webhook-rotate-secret": lambda w: {"id": w.subscription.public_id},
    "api-webhook-test": lambda w: {"id": w.subscription.public_id},
    "api-webhook-enable": lambda w: {"id": w.subscription.public_id},
    "api-webhook-deliveries": lambda w: {"id": w.subscription.public_id},
    "api-webhook-redeliver": lambda w: {"id": w.delivery.public_id},
    # OAuth2 application management: the clinic's application.
    "oauth2_provider:detail": lambda w: {"pk": w.clinic_app.pk},
    "oauth2_provider:delete": lambda w: {"pk": w.clinic_app.pk},
    "oauth2_provider:update": lambda w: {"pk": w.clinic_app.pk},
    "oauth2_provider:authorized-token-delete": lambda w: {"pk": w.clinic_token.pk},
    "oauth2_provider:dcr-register-management": lambda w: {
        "client_id": w.clinic_app.client_id
    },
    "oauth2_provider:device-confirm": lambda w: {
        "client_id": w.clinic_app.client_id,
        "user_code": "ABCDEFGH",
    },
    "oauth2_provider:device-grant-status": lambda w: {
        "client_id": w.clinic_app.client_id,
        "user_code": "ABCDEFGH",
    },
}


TOKENS: dict[str, Factory] = {
    "appointments:act": lambda w: {
        "token": _forged(w, w.links.Purpose.ACTION, w.appointment.public_id)
    },
    "appointments:proposal-link": lambda w: {
        "token": _forged(w, w.links.Purpose.PROPOSAL, w.proposal.public_id)
    },
    "appointments:offer": lambda w: {
        "token": _forged(w, w.links.Purpose.OFFER, w.waitlist.public_id)
    },
    "appointments:ics": lambda w: {
        "token": _forged(w, w.links.Purpose.ICS, w.appointment.public_id)
    },
    "appointments:feed": lambda w: {
        "token": _forged(w, w.links.Purpose.FEED, w.feed.public_id)
    },
    "appointments:pre-consultation": lambda w: {
        "token": _forged(
            w, w.links.Purpose.PRE_CONSULTATION, w.pre_consultation.public_id
        )
    },
    "appointments:pre-consultation-summary": lambda w: {
        "token": _forged(
            w, w.links.Purpose.PRE_CONSULTATION, w.pre_consultation.public_id
        )
    },
    "appointments:pre-consultation-document": lambda w: {
        "token": _forged(
            w, w.links.Purpose.PRE_CONSULTATION, w.pre_consultation.public_id
        ),
        "document_id": w.document.pk,
    },
    "appointments:report-upload": lambda w: {
        "token": _forged(w, w.links.Purpose.REPORT, w.report.public_id)
    },
    "appointments:prescription": lambda w: {
        "token": _forged(w, w.links.Purpose.PRESCRIPTION, w.prescription.public_id)
    },
    "appointments:survey-link": lambda w: {
        "token": w.links.make_token(w.links.Purpose.ICS, w.survey.public_id)
    },
    "teleconsult:patient-link": lambda w: {
        "token": _resigned(
            video_links.patient_token(w.video),
            "teleconsult.patient-link",
            "teleconsult.practitioner-link",
        )
    },
    "teleconsult:practitioner-link": lambda w: {
        "token": signing.TimestampSigner(salt="teleconsult.patient-link", sep=".").sign(
            str(w.teleconsultation.public_id)
        )
    },
    # The payer's link, signed for the claim but with another salt.
    "reimbursements:payer-documents": lambda w: {
        "token": signing.dumps(str(w.claim.public_id), salt="appointments.ics")
    },
    "reimbursements:payer-document": lambda w: {
        "token": signing.dumps(str(w.claim.public_id), salt="appointments.ics"),
        "document_id": w.claim.attachments.first().document_id,
    },
}


PUBLIC: dict[str, str] = {
    "specialists:detail": "the public directory page of a practitioner",
    "specialists:photo": "a practitioner's public portrait",
    "appointments:book": "booking starts from the public directory",
    "api-specialist": "directory data every partner may read",
    "api-specialist-slots": "free slots every partner may read",
    "fhir-search": "the read-only FHIR directory (Practitioner, Schedule, Slot)",
    "fhir/r4/<str:resource_type>/": "the same search with a trailing slash",
    "fhir-read": "one resource of the read-only FHIR directory",
    "oauth2_provider:oauth-server-metadata-issuer": "OAuth2 server metadata",
    "oauth2_provider:oauth-resource-metadata-path": "OAuth2 resource metadata",
}

#: Routes that refuse a foreign id with a message and a redirect to the signed-in
#: user's own page, not a 404; the snapshot taken after the sweep proves that
#: nothing of Camille's changed behind them.
REDIRECT_REFUSALS: dict[str, str] = {
    "portal:session-sign-out": "'This session is already signed out.', back to "
    "the user's own security page (end_session filters on the user)",
}

THIRD_PARTY_LINKS: dict[str, str] = {
    "account_confirm_email": "allauth explains an unknown confirmation key (200)",
    "account_reset_password_from_key": "allauth explains a bad reset key (200)",
}


def _first_pk(label: str) -> Callable[[World], Any]:
    def pick(world: World) -> Any:
        model = apps.get_model(label)
        row = model._default_manager.order_by("pk").first()
        return row.pk if row is not None else 1

    return pick


#: Back-office pages, per model: the row whose pages are tried. Staff reach them
#: with their permissions; the foreign identities below are none of the staff.
ADMIN_MODELS: dict[str, Callable[[World], Any]] = {
    "patients.patient": lambda w: w.patient.pk,
    "patients.document": lambda w: w.document.pk,
    "patients.carerequest": lambda w: w.care_request.pk,
    "patients.careplan": lambda w: w.care_plan.pk,
    "patients.erasurerequest": lambda w: w.erasure.pk,
    "patients.sharingconsent": lambda w: w.sharing.pk,
    "appointments.appointment": lambda w: w.appointment.pk,
    "billing.invoice": lambda w: w.invoice.pk,
    "billing.quote": lambda w: w.quote.pk,
    "billing.creditnote": lambda w: w.credit_note.pk,
    "reimbursements.claim": lambda w: w.claim.pk,
    "partners.organisation": lambda w: w.clinic.pk,
    "partners.webhooksubscription": lambda w: w.subscription.pk,
    "partners.webhookdelivery": lambda w: w.delivery.pk,
    "accounts.user": lambda w: w.camille.pk,
}
#: Every other model of the back-office: its first row (or a made-up id).
ADMIN_FIRST_ROW = {
    "account.emailaddress",
    "appointments.calendarfeed",
    "appointments.noshowflag",
    "appointments.pharmacy",
    "appointments.preconsultationshare",
    "appointments.prescriptiontransmission",
    "appointments.reportrequest",
    "appointments.slotproposal",
    "appointments.waitlistentry",
    "audit.accesslog",
    "auth.group",
    "axes.accessattempt",
    "axes.accessfailurelog",
    "axes.accesslog",
    "billing.customer",
    "billing.payment",
    "billing.service",
    "billing.vatrate",
    "django_celery_beat.clockedschedule",
    "django_celery_beat.crontabschedule",
    "django_celery_beat.intervalschedule",
    "django_celery_beat.periodictask",
    "django_celery_beat.solarschedule",
    "mfa.authenticator",
    "notifications.message",
    "oauth2_provider.accesstoken",
    "oauth2_provider.application",
    "oauth2_provider.grant",
    "oauth2_provider.idtoken",
    "oauth2_provider.refreshtoken",
    "otp_static.staticdevice",
    "otp_totp.totpdevice",
    "partners.partnerapplication",
    "patients.caretask",
    "patients.guardianship",
    "patients.healthdataconsent",
    "patients.insurancecoverage",
    "patients.medicalprofile",
    "patients.slabreach",
    "sites.site",
    "specialists.consultationtype",
    "specialists.practiceplace",
    "specialists.practitioner",
    "specialists.review",
    "specialists.specialty",
    "reimbursements.act",
    "reimbursements.acttariff",
    "reimbursements.administrativeprocedure",
    "reimbursements.insurer",
    "reimbursements.recordedact",
    "reimbursements.patientcontributionrule",
    "reimbursements.regulatoryparameter",
    "reimbursements.reimbursementrate",
    "appointments.pharmacychoice",
    "appointments.satisfactionsurvey",
    "billing.overduereminder",
    "specialists.postalcode",
    "specialists.shortlist",
    "specialists.verificationrecord",
    "teleconsult.supportticket",
    "teleconsult.teleconsultationsession",
    "procedures.acknowledgement",
    "procedures.procedure",
    "procedures.procedureversion",
}
#: Pages of the back-office site itself that take an argument.
ADMIN_SITE: dict[str, Factory] = {
    "otpadmin:app_list": lambda w: {"app_label": "patients"},
    "otpadmin:view_on_site": lambda w: {
        "content_type_id": _content_type("patients.patient"),
        "object_id": w.patient.pk,
    },
    # The catch-all that sends unknown back-office paths to the sign-in page.
    f"{ADMIN_PREFIX}(?P<url>.*)$": lambda w: {
        "url": f"patients/patient/{w.patient.pk}"
    },
}


def _content_type(label: str) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(apps.get_model(label)).pk


#: Extra arguments of custom back-office pages.
ADMIN_EXTRA = {"name": "qualify"}


def admin_kwargs(route: Route, world: World) -> dict[str, Any] | None:
    label = _admin_model(route)
    if route.name in ADMIN_SITE:
        return ADMIN_SITE[route.name](world)
    if label in ADMIN_MODELS:
        pk = ADMIN_MODELS[label](world)
    elif label in ADMIN_FIRST_ROW:
        pk = _first_pk(label)(world)
    else:
        return None
    kwargs: dict[str, Any] = {}
    for parameter in route.parameters:
        kwargs[parameter] = ADMIN_EXTRA.get(parameter, pk)
    return kwargs


# --- The identities ---


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _staff(user) -> Client:
    client = _signed_in(user)
    device = user.totpdevice_set.first() or TOTPDeviceFactory(user=user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def foreign_identities(world: World) -> dict[str, Client]:
    from conciergerie.partners import services as partners
    from tests.patients.factories import GuardianshipFactory, PatientFactory
    from tests.specialists.factories import PractitionerFactory

    other = UserFactory(email="lucas.stranger@example.fr", role=Role.PATIENT)
    PatientFactory(user=other, email=other.email, consented=True)
    guardian = GuardianshipFactory(
        guardian=UserFactory(email="parent.stranger@example.fr", role=Role.PATIENT)
    ).guardian
    practitioner = UserFactory(email="dr.stranger@example.fr", role=Role.PRACTITIONER)
    PractitionerFactory(user=practitioner, verified=True)
    organisation = partners.create_organisation(
        name="Laboratoire Voisin",
        kind="laboratory",
        technical_email="it@voisin.example.fr",
    )
    profile, _secret = partners.create_application(
        organisation=organisation,
        name="Laboratoire Voisin API",
        scopes=sorted(settings.API_SCOPES),
    )
    token = AccessToken.objects.create(
        application=profile.application,
        token=f"foreign-{uuid.uuid4().hex}",
        scope=" ".join(sorted(settings.API_SCOPES)),
        expires=timezone.now() + timedelta(hours=1),
    )
    partner = Client(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    return {
        "anonymous": Client(),
        "another patient": _signed_in(other),
        "guardian of another child": _signed_in(guardian),
        "practitioner not involved": _signed_in(practitioner),
        "partner of another organisation": partner,
    }


def staff_identities() -> dict[str, Client]:
    return {
        role: _staff(UserFactory(email=f"staff.{role}@example.fr", role=role))
        for role in (Role.MEDICAL_ADVISER, Role.CARE_COORDINATOR, Role.MANAGER)
    }


def is_portal(route: Route) -> bool:
    return not route.pattern.startswith(
        (ADMIN_PREFIX, "api/", "fhir/", "o/", "accounts/")
    )


# --- The verdict ---


LOGIN_PATHS = (reverse("account_login"), f"/{ADMIN_PREFIX}login/")


def refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    if response.status_code in (301, 302, 303, 307, 308):
        return urlsplit(response["Location"]).path.startswith(LOGIN_PATHS)
    return False


def snapshot(world: World) -> dict[str, Any]:
    """What a successful foreign request would have changed."""
    from appointments.models import Appointment
    from conciergerie.partners.models import WebhookDelivery
    from patients.models import Document, Patient

    o = world.objects
    fresh = {
        name: type(o[name])._default_manager.filter(pk=o[name].pk).values().first()
        for name in (
            "appointment",
            "child_appointment",
            "care_request",
            "quote",
            "invoice",
            "claim",
            "subscription",
            "sharing",
            "waitlist",
            "proposal",
            "pre_consultation",
            "teleconsultation",
            "survey",
            "browser",
        )
    }
    for row in fresh.values():
        if row:
            row.pop("updated_at", None)
    fresh["patients"] = Patient.objects.count()
    fresh["documents"] = Document.objects.count()
    fresh["appointments"] = Appointment.objects.count()
    fresh["deliveries"] = WebhookDelivery.objects.count()
    return fresh


def _try(client: Client, method: str, path: str):
    return client.generic(
        method, path, data="", content_type="application/x-www-form-urlencoded"
    )


# --- The tests ---


def test_every_object_route_is_in_a_registry():
    missing = []
    for route in object_routes():
        label = _admin_model(route)
        if label is not None:
            if route.name in ADMIN_SITE:
                continue
            if label not in ADMIN_MODELS and label not in ADMIN_FIRST_ROW:
                missing.append(f"{route.name} (back-office model {label})")
            continue
        known = (OWNED, TOKENS, PUBLIC, THIRD_PARTY_LINKS)
        if not any(route.name in registry for registry in known):
            missing.append(f"{route.name} ({route.pattern})")
    assert not missing, "Add these routes to the access matrix: " + ", ".join(missing)


def test_the_registries_name_only_routes_that_exist():
    names = {route.name for route in object_routes()}
    for registry in (OWNED, TOKENS, PUBLIC, THIRD_PARTY_LINKS):
        assert set(registry) <= names, set(registry) - names


def _route_arguments(route: Route, world: World) -> dict[str, Any] | None:
    if _admin_model(route) is not None:
        return admin_kwargs(route, world)
    if route.name in OWNED:
        return OWNED[route.name](world)
    if route.name in TOKENS:
        return TOKENS[route.name](world)
    # Public routes are tried below; unknown ones are reported by
    # test_every_object_route_is_in_a_registry.
    return None


def _sweep(world: World, identities: dict[str, Client], *, portal_only: bool, verdict):
    successes: list[str] = []
    tried = routes = 0
    for route in object_routes():
        if portal_only and (not is_portal(route) or route.name in TOKENS):
            continue
        kwargs = _route_arguments(route, world)
        if kwargs is None:
            continue
        path = _path(route, kwargs)
        routes += 1
        for name, client in identities.items():
            for method in METHODS:
                response = _try(client, method, path)
                tried += 1
                if not verdict(route, method, response):
                    where = response.get("Location", "")
                    successes.append(
                        f"{name}: {method} {path} → {response.status_code} {where}"
                    )
    return successes, routes, tried


@pytest.mark.django_db
def test_no_foreign_identity_reaches_anything_of_someone_else(settings):
    settings.API_THROTTLE_PARTNER = "1000000/min"
    settings.API_THROTTLE_ANON = "1000000/min"
    world = build_world()
    identities = foreign_identities(world)
    before = snapshot(world)

    successes, routes, tried = _sweep(
        world,
        identities,
        portal_only=False,
        verdict=lambda route, method, response: (
            refused(response)
            or (route.name in REDIRECT_REFUSALS and response.status_code == 302)
        ),
    )

    assert not successes, "\n".join(successes)
    assert snapshot(world) == before
    assert routes >= 300
    assert tried == routes * len(identities) * len(METHODS)


#: Portal actions a concierge may take for a patient, by the service's own rule.
STAFF_MAY_ACT = {
    "appointments:leave": "appointments.access.may_book_for: staff allowed to "
    "book (appointments.book_appointment) manage bookings for the patient",
    "appointments:unshare": "appointments.services.visit._may_share: the team "
    "may stop a pre-consultation sharing it set up",
}


def _staff_changes(world: World, names) -> tuple[list[str], int]:
    staff = staff_identities()
    changed: list[str] = []
    routes = 0
    for route in object_routes():
        if route.name not in names:
            continue
        path = _path(route, OWNED[route.name](world))
        routes += 1
        for name, client in staff.items():
            for method in METHODS:
                before = snapshot(world)
                response = _try(client, method, path)
                assert response.status_code < 500, f"{name}: {method} {path}"
                if snapshot(world) != before:
                    changed.append(f"{name}: {method} {path} → {response.status_code}")
    return changed, routes


@pytest.mark.django_db
def test_back_office_roles_never_act_for_a_patient_through_the_portal():
    """Staff see every file in the back-office (medical data behind break-the-glass);
    on the portal's pages of a patient's objects they may be shown the page or sent
    to the back-office, but no request of theirs changes the patient's objects."""
    world = build_world()
    names = {
        route.name
        for route in object_routes()
        if is_portal(route) and route.name in OWNED
    } - set(STAFF_MAY_ACT)

    changed, routes = _staff_changes(world, names)

    assert routes >= 40
    assert not changed, "\n".join(changed)


@pytest.mark.django_db
def test_only_the_customer_decides_a_quote():
    """Accepting a quote is the customer's consent to pay: staff who may read the
    quote still cannot accept or refuse it in the customer's name."""
    world = build_world()
    names = {"billing:quote-accept", "billing:quote-refuse"}

    changed, routes = _staff_changes(world, names)

    assert routes == len(names)
    assert not changed, "\n".join(changed)


@pytest.mark.django_db
def test_public_directory_routes_change_nothing_and_never_fail(settings):
    from specialists.models import Practitioner

    settings.API_THROTTLE_PARTNER = "1000000/min"
    settings.API_THROTTLE_ANON = "1000000/min"
    world = build_world()
    identities = foreign_identities(world)
    before = snapshot(world)
    practitioner = world.practitioner
    arguments = {
        "public_id": practitioner.public_id,
        "resource_type": "Practitioner",
        "resource_id": str(practitioner.public_id),
        "issuer_path": "o",
        "resource_path": "api/v1",
    }
    failures = []
    for route in object_routes():
        if route.name not in PUBLIC:
            continue
        path = _path(route, {p: arguments[p] for p in route.parameters})
        for name, client in identities.items():
            for method in METHODS:
                response = _try(client, method, path)
                if response.status_code >= 500 or (
                    method != "GET"
                    and 200 <= response.status_code < 300
                    and route.pattern.startswith(("api/", "fhir/"))
                ):
                    failures.append(f"{name}: {method} {path} → {response.status_code}")
    assert not failures, "\n".join(failures)
    assert snapshot(world) == before
    assert Practitioner.objects.filter(pk=practitioner.pk).exists()


@pytest.mark.django_db
def test_unknown_account_keys_open_nothing():
    from allauth.account.models import EmailAddress

    world = build_world()
    identities = foreign_identities(world)
    address = EmailAddress.objects.get(user=world.camille)
    address.verified = False
    address.save(update_fields=["verified"])
    password = world.camille.password
    paths = [
        reverse("account_confirm_email", kwargs={"key": "MQ:1tForged:abcdef"}),
        reverse(
            "account_reset_password_from_key",
            kwargs={"uidb36": "1", "key": "set-password"},
        ),
    ]
    for client in identities.values():
        for path in paths:
            for method in METHODS:
                response = _try(client, method, path)
                assert response.status_code < 500, (method, path)
    address.refresh_from_db()
    world.camille.refresh_from_db()
    assert not address.verified
    assert world.camille.password == password


def _path(route: Route, kwargs: dict[str, Any]) -> str:
    if route.name != route.pattern:
        return reverse(route.name, kwargs=kwargs)
    # Unnamed routes: fill the pattern in by hand.
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), route.pattern)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m.group(1)]), path)
    return "/" + path.lstrip("^").rstrip("$")


_ = admin  # the back-office site whose routes are walked above
