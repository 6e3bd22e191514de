"""Reimbursement claims: opened per act or invoice and per payer, then followed.

Every transition is a service here, called the same way by the back-office, the
portal and the insurers' API: lock the claim, check the role and `can_proceed`,
transition, save, write a `ClaimEvent`, then leave the messages to the outbox,
whose rows commit with the change and are sent after the commit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.notifications.services import (
    message_key,
    schedule_message,
    subject_for,
)
from conciergerie.partners.services import publish_event
from patients import services as patient_services
from patients.access import manages
from patients.models import Channel, Document, Guardianship, Patient

from ..engine import money
from ..models import (
    AdministrativeProcedure,
    Claim,
    ClaimDocument,
    ClaimEvent,
    Insurer,
    Payer,
    RecordedAct,
    SendingMethod,
)
from .procedures import open_procedure

#: Who calls a service: the signed-in user of a face (an anonymous one is refused).
Actor = User | AnonymousUser

#: The permission of the concierges who prepare, send and follow claims.
STAFF_PERMISSION = "reimbursements.change_claim"
TO_PAYER_TEMPLATE = "reimbursements/email/claim_to_payer"
PAYMENT_TEMPLATE = "reimbursements/email/claim_payment"
PAYER_LINK_SALT = "reimbursements.payer-documents"


# --- Who may do what ------------------------------------------------------------------


def is_claims_staff(user: Actor | None) -> bool:
    return bool(
        isinstance(user, User)
        and user.is_active
        and user.is_staff
        and user.has_perm(STAFF_PERMISSION)
    )


def is_payer_of(user: Actor | None, claim: Claim) -> bool:
    """The insurer's partner account the claim is addressed to."""
    return bool(
        isinstance(user, User)
        and user.is_active
        and claim.payer_partner_id is not None
        and claim.payer_partner_id == user.pk
        and user.has_role(Role.PARTNER)
    )


def _require_staff(by: Actor | None) -> None:
    if not is_claims_staff(by):
        raise PermissionDenied


def _require_staff_or_payer(by: Actor | None, claim: Claim) -> None:
    if not (is_claims_staff(by) or is_payer_of(by, claim)):
        raise PermissionDenied


def _label_of(user: Actor | None, claim: Claim | None = None) -> str:
    if not isinstance(user, User):
        return settings.SERVICE_NAME
    if claim is not None and is_payer_of(user, claim):
        return claim.payer_name
    return (user.get_full_name() or user.email)[:200]


# --- Events ---------------------------------------------------------------------------


def _event(
    claim: Claim,
    *,
    kind: str,
    by: Actor | None,
    from_state: str | None = None,
    amount: Decimal | None = None,
    comment: str = "",
    public: bool = True,
) -> ClaimEvent:
    return ClaimEvent.objects.create(
        claim=claim,
        kind=kind,
        from_state=claim.state if from_state is None else from_state,
        to_state=claim.state,
        amount=amount,
        comment=comment,
        by=by if isinstance(by, User) else None,
        by_label=_label_of(by, claim),
        public=public,
    )


def _publish(claim: Claim, event: ClaimEvent) -> None:
    """Tell the payer's systems (webhook `claim.updated`), after the commit.

    Only the organisation the claim is addressed to may see it, hence receive it;
    the payload names no care, the partner reads the claim through the API.
    """
    if claim.payer_partner_id is None:
        return
    publish_event(
        event_type="claim.updated",
        about=claim,
        payload={
            "id": str(claim.public_id),
            "reference": claim.reference,
            "state": claim.state,
            "event": event.kind,
            "amount_expected": str(claim.amount_expected),
            "amount_received": str(claim.amount_received),
        },
    )


def _locked(claim: Claim) -> Claim:
    return Claim.objects.select_for_update().get(pk=claim.pk)


def _field_error(field: str, message: str, *, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _amount(value, field: str = "amount") -> Decimal:
    try:
        amount = money(Decimal(value))
    except (TypeError, ArithmeticError) as error:
        raise _field_error(
            field, _("Give an amount in euros."), code="invalid_amount"
        ) from error
    if amount <= 0:
        raise _field_error(
            field, _("The amount must be more than zero."), code="amount_not_positive"
        )
    return amount


def tolerance() -> Decimal:
    """How much less than expected is still taken as paid in full (rounding)."""
    return Decimal(str(settings.REIMBURSEMENT_DISCREPANCY_TOLERANCE))


# --- Opening a claim ------------------------------------------------------------------


def _payer_details(
    patient: Patient, payer: str, on: dt.date
) -> tuple[Insurer | None, dict]:
    coverage = patient.insurance_coverages.current(on).first()
    if payer == Payer.AMC:
        if coverage is None or not coverage.mutuelle_name:
            raise _field_error(
                "payer",
                _("The patient has no mutuelle on record for this date."),
                code="no_mutuelle",
            )
        insurer = Insurer.objects.named(coverage.mutuelle_name, kind=Payer.AMC).first()
        details = {
            "payer_name": coverage.mutuelle_name,
            "payer_contract_number": coverage.mutuelle_contract_number,
            "payer_member_number": coverage.mutuelle_member_number,
        }
    else:
        fund = coverage.fund_name if coverage is not None else ""
        insurer = Insurer.objects.named(fund, kind=Payer.AMO).first() if fund else None
        details = {"payer_name": fund or str(Payer.AMO.label)}
    if insurer is not None:
        details["payer_email"] = insurer.claims_email
        details["payer_partner"] = insurer.partner
    return insurer, details


@transaction.atomic
def open_claim(
    *,
    patient: Patient,
    payer: str,
    by: Actor,
    recorded_act: RecordedAct | None = None,
    invoice=None,
    amount_expected: Decimal | None = None,
    amount_charged: Decimal | None = None,
    care_date: dt.date | None = None,
    label: str = "",
    care_reference: str = "",
    owner: User | None = None,
    notes: str = "",
) -> Claim:
    """Prepare a draft claim of one act or invoice to one payer.

    What is expected comes from the shares the estimate engine recorded with the
    act; for an invoice the concierge gives it. The payer's details (mutuelle,
    contract number, claims address, partner account) are copied from the
    patient's insurance on the date of care and the insurers' directory.
    """
    _require_staff(by)
    if payer not in Payer.values:
        raise _field_error("payer", _("Unknown payer."), code="invalid_payer")
    if recorded_act is None and invoice is None:
        raise ValidationError(
            _("A claim is for an act or an invoice."), code="subject_required"
        )
    if recorded_act is not None and recorded_act.patient_id != patient.pk:
        raise _field_error(
            "recorded_act",
            _("This act was recorded for another patient."),
            code="act_of_another_patient",
        )
    if invoice is not None:
        if invoice.patient_id != patient.pk:
            raise _field_error(
                "invoice",
                _("This invoice is about another patient."),
                code="invoice_of_another_patient",
            )
        if invoice.state == invoice.State.DRAFT:
            raise _field_error(
                "invoice",
                _("Only an issued invoice can be claimed."),
                code="invoice_not_issued",
            )
    if recorded_act is not None:
        share = recorded_act.amo if payer == Payer.AMO else recorded_act.amc
        expected = share if amount_expected is None else amount_expected
        charged = recorded_act.fee if amount_charged is None else amount_charged
        care_date = care_date or recorded_act.performed_on
        label = label or f"{recorded_act.act.label} ({recorded_act.act.code})"
    else:
        if amount_expected is None:
            raise _field_error(
                "amount_expected",
                _("Give the amount expected from the payer."),
                code="expected_amount_required",
            )
        expected = amount_expected
        charged = invoice.total if amount_charged is None else amount_charged
        care_date = care_date or invoice.service_date or invoice.issue_date
        label = label or _("Invoice %(number)s") % {"number": invoice.number}
    expected = money(Decimal(expected))
    charged = money(Decimal(charged))
    if expected <= 0:
        raise _field_error(
            "amount_expected",
            _("Nothing is expected from this payer: there is nothing to claim."),
            code="nothing_to_claim",
        )
    if expected > charged:
        raise _field_error(
            "amount_expected",
            _("The payer cannot owe more than the patient paid."),
            code="expected_over_charged",
        )
    insurer, details = _payer_details(patient, payer, care_date)
    owner = owner or cast(User, by)  # a member of staff, checked above
    claim = Claim(
        patient=patient,
        payer=payer,
        insurer=insurer,
        recorded_act=recorded_act,
        invoice=invoice,
        care_reference=care_reference,
        care_date=care_date,
        label=label[:200],
        amount_charged=charged,
        amount_expected=expected,
        owner=owner,
        notes=notes,
        created_by=cast(User, by),
        **details,
    )
    if not owner.is_staff:
        raise _field_error(
            "owner",
            _("The owner must be a member of the concierge team."),
            code="owner_not_staff",
        )
    # A protected FSM field refuses the assignment clean_fields() would make.
    claim.full_clean(exclude=["state", "reference"])
    try:
        with transaction.atomic():
            claim.save()
    except IntegrityError as error:
        raise ValidationError(
            _("This act or invoice already has a claim to this payer."),
            code="claim_exists",
        ) from error
    _event(claim, kind=ClaimEvent.Kind.CREATED, by=by, from_state="")
    return claim


def open_claims_for_act(*, recorded_act: RecordedAct, by: Actor) -> list[Claim]:
    """Prepare the claims of a recorded act: Assurance Maladie and mutuelle shares.

    A payer with nothing to pay, or already claimed, is skipped.
    """
    _require_staff(by)
    if recorded_act.patient is None:
        raise ValidationError(
            _("Link the act to a patient file first."), code="patient_required"
        )
    opened = []
    for payer, share in ((Payer.AMO, recorded_act.amo), (Payer.AMC, recorded_act.amc)):
        if share <= 0 or recorded_act.claims.filter(payer=payer).exists():
            continue
        try:
            opened.append(
                open_claim(
                    patient=recorded_act.patient,
                    payer=payer,
                    by=by,
                    recorded_act=recorded_act,
                )
            )
        except ValidationError as error:
            if getattr(error, "error_dict", {}).get("payer"):
                continue  # no mutuelle on record: nothing to claim from one
            raise
    return opened


# --- Documents ------------------------------------------------------------------------


def _attach(
    claim: Claim, document: Document, *, kind: str, by: Actor | None
) -> ClaimDocument:
    if document.patient_id != claim.patient_id:
        raise _field_error(
            "document",
            _("This document belongs to another patient's file."),
            code="document_of_another_patient",
        )
    attachment, created = ClaimDocument.objects.get_or_create(
        claim=claim,
        document=document,
        defaults={
            "kind": kind,
            "attached_by": by if isinstance(by, User) else None,
        },
    )
    if created and kind != ClaimDocument.Kind.PROOF_OF_PAYMENT:
        _event(
            claim,
            kind=ClaimEvent.Kind.DOCUMENT_ADDED,
            by=by,
            comment=str(ClaimDocument.Kind(kind).label),
        )
    return attachment


@transaction.atomic
def attach_documents(
    *, claim: Claim, documents: list[Document], kind: str, by: Actor
) -> list[ClaimDocument]:
    """Attach documents of the patient's file (care sheet, prescription…)."""
    _require_staff(by)
    claim = _locked(claim)
    if claim.state == Claim.State.CLOSED:
        raise ValidationError(_("This claim is closed."), code="claim_closed")
    if kind not in ClaimDocument.Kind.values:
        raise _field_error("kind", _("Unknown type of document."), code="invalid_kind")
    return [_attach(claim, document, kind=kind, by=by) for document in documents]


#: The kind a new document takes in the patient's file, by its role in the claim.
DOCUMENT_KIND_IN_FILE: dict[str, str] = {
    ClaimDocument.Kind.CARE_SHEET: Document.Kind.CARE_SHEET,
    ClaimDocument.Kind.PRESCRIPTION: Document.Kind.PRESCRIPTION,
}


@transaction.atomic
def attach_new_document(
    *, claim: Claim, by: Actor, upload, kind: str, request=None
) -> ClaimDocument:
    """File a scanned paper (a care sheet received by post) and attach it."""
    _require_staff(by)
    claim = _locked(claim)
    if claim.state == Claim.State.CLOSED:
        raise ValidationError(_("This claim is closed."), code="claim_closed")
    if kind not in ClaimDocument.Kind.values:
        raise _field_error("kind", _("Unknown type of document."), code="invalid_kind")
    document = patient_services.upload_document(
        patient=claim.patient,
        by=by,
        upload=upload,
        kind=DOCUMENT_KIND_IN_FILE.get(kind, Document.Kind.OTHER),
        title=str(ClaimDocument.Kind(kind).label),
        channel=Channel.ADMIN,
        request=request,
    )
    return _attach(claim, document, kind=kind, by=by)


@transaction.atomic
def attach_invoice_pdf(*, claim: Claim, by: Actor, request=None) -> ClaimDocument:
    """File the PDF of the claimed invoice in the patient's documents and attach it."""
    from billing import pdf

    _require_staff(by)
    claim = _locked(claim)
    invoice = claim.invoice
    if invoice is None or invoice.state == invoice.State.DRAFT:
        raise ValidationError(
            _("This claim has no issued invoice to attach."), code="no_invoice"
        )
    existing = claim.attachments.filter(
        kind=ClaimDocument.Kind.INVOICE, document__isnull=False
    ).first()
    if existing is not None:
        return existing
    with translation.override(settings.LANGUAGE_CODE):
        content = pdf.render_pdf(invoice, language=settings.LANGUAGE_CODE)
        title = _("Invoice %(number)s") % {"number": invoice.number}
    document = patient_services.upload_document(
        patient=claim.patient,
        by=by,
        upload=SimpleUploadedFile(
            pdf.filename(invoice), content, content_type="application/pdf"
        ),
        kind=Document.Kind.OTHER,
        title=title,
        document_date=invoice.issue_date,
        source=settings.SERVICE_NAME,
        channel=Channel.ADMIN,
        request=request,
    )
    return _attach(claim, document, kind=ClaimDocument.Kind.INVOICE, by=by)


def task_owner(claim: Claim) -> User | None:
    """The concierge in charge, or, if they left the team, a colleague who may act."""
    owner = claim.owner
    if owner.is_active and owner.is_staff:
        return owner
    colleagues = User.objects.filter(is_active=True, is_staff=True).filter(
        Q(groups__permissions__codename="change_claim")
        | Q(user_permissions__codename="change_claim")
        | Q(is_superuser=True)
    )
    return colleagues.order_by("-is_superuser", "pk").first()


def _follow_up_task(
    claim: Claim, *, title: str, days: int
) -> AdministrativeProcedure | None:
    owner = task_owner(claim)
    if owner is None:
        return None
    return open_procedure(
        kind=AdministrativeProcedure.Kind.CLAIM_FOLLOW_UP,
        title=title[:200],
        owner=owner,
        due_on=timezone.localdate() + dt.timedelta(days=days),
        patient=claim.patient,
        claim=claim,
    )


@transaction.atomic
def add_payment_proof(
    *,
    claim: Claim,
    by: Actor,
    upload,
    amount: Decimal | None = None,
    received_on: dt.date | None = None,
    request=None,
) -> ClaimDocument:
    """The patient (or a guardian) files proof that money arrived.

    The file joins the patient's documents (encrypted, audited) and the claim;
    the concierge in charge gets a task to check it and record the payment.
    """
    if not (manages(by, claim.patient) or is_claims_staff(by)):
        raise PermissionDenied
    claim = _locked(claim)
    if claim.state in (Claim.State.DRAFT, Claim.State.CLOSED):
        raise ValidationError(
            _("This claim does not wait for a payment."), code="claim_not_open"
        )
    if amount is not None:
        amount = _amount(amount)
    if received_on is not None and received_on > timezone.localdate():
        raise _field_error(
            "received_on",
            _("The date cannot be in the future."),
            code="date_in_future",
        )
    document = patient_services.upload_document(
        patient=claim.patient,
        by=by,
        upload=upload,
        kind=Document.Kind.OTHER,
        title=_("Proof of payment %(reference)s") % {"reference": claim.reference},
        document_date=received_on,
        source=claim.payer_label,
        channel=Channel.PORTAL if manages(by, claim.patient) else Channel.ADMIN,
        request=request,
    )
    attachment = _attach(
        claim, document, kind=ClaimDocument.Kind.PROOF_OF_PAYMENT, by=by
    )
    _event(claim, kind=ClaimEvent.Kind.PROOF_ADDED, by=by, amount=amount)
    _follow_up_task(
        claim,
        title=_("Check the proof of payment of claim %(reference)s")
        % {"reference": claim.reference},
        days=settings.REIMBURSEMENT_FOLLOW_UP_DAYS,
    )
    return attachment


# --- The payer's link to the documents ------------------------------------------------


def payer_link(claim: Claim) -> str:
    """An address the payer's claims service opens to download the documents."""
    token = signing.dumps(str(claim.public_id), salt=PAYER_LINK_SALT)
    return settings.SITE_URL + reverse(
        "reimbursements:payer-documents", kwargs={"token": token}
    )


def claim_for_payer_token(token: str) -> Claim | None:
    """The claim a payer's link opens, while it is valid and the claim is open."""
    try:
        public_id = signing.loads(
            token,
            salt=PAYER_LINK_SALT,
            max_age=dt.timedelta(days=settings.REIMBURSEMENT_PAYER_LINK_DAYS),
        )
    except signing.BadSignature:
        return None
    return (
        Claim.objects.exclude(state__in=[Claim.State.DRAFT, Claim.State.CLOSED])
        .filter(public_id=public_id)
        .select_related("patient")
        .first()
    )


@transaction.atomic
def open_claim_document(
    *,
    claim: Claim,
    attachment: ClaimDocument,
    by: Actor | None,
    through_payer_link: bool = False,
    request=None,
) -> bytes:
    """The bytes of an attached document for the payer; the patient's log shows it.

    The payer's claims service reads them through the signed link of the email
    (no account), an insurer's partner account through the API.
    """
    if not (through_payer_link or is_payer_of(by, claim) or is_claims_staff(by)):
        raise PermissionDenied
    if attachment.claim_id != claim.pk or attachment.document is None:
        raise ValidationError(_("This document is gone."), code="document_gone")
    content = patient_services.open_document(
        document=attachment.document, by=by, request=request
    )
    _event(
        claim,
        kind=ClaimEvent.Kind.DOCUMENTS_OPENED,
        by=by,
        comment=str(attachment.get_kind_display()),
        public=False,
    )
    return content


# --- Transitions ----------------------------------------------------------------------


def _payer_context(claim: Claim) -> dict:
    with translation.override(settings.LANGUAGE_CODE):
        return _payer_facts(claim)


def _payer_facts(claim: Claim) -> dict:
    patient = claim.patient
    return {
        "claim_reference": claim.reference,
        "payer_name": claim.payer_name,
        "beneficiary": patient.full_name,
        "birth_date": patient.birth_date.strftime("%d/%m/%Y"),
        "contract_number": claim.payer_contract_number,
        "member_number": claim.payer_member_number,
        "care_date": claim.care_date.strftime("%d/%m/%Y"),
        "claimed": claim.label,
        "amount_charged": str(claim.amount_charged),
        "amount_expected": str(claim.amount_expected),
        "documents": [
            str(attachment.get_kind_display())
            for attachment in claim.attachments.filter(document__isnull=False)
        ],
        "link": payer_link(claim),
        "link_days": settings.REIMBURSEMENT_PAYER_LINK_DAYS,
    }


def email_payer(claim: Claim, *, kind: str, template: str, extra: dict) -> None:
    """Put an email to the payer's claims service in the outbox, once per kind."""
    subject = subject_for(claim)
    schedule_message(
        key=message_key(subject=subject, kind=kind, channel="email"),
        channel="email",
        to=claim.payer_email,
        template=template,
        context={**_payer_context(claim), **extra},
        due_at=timezone.now(),
        language=settings.LANGUAGE_CODE,
        subject=subject,
    )


@transaction.atomic
def send_claim(*, claim: Claim, by: Actor, via: str, comment: str = "") -> Claim:
    """Send a draft claim with its documents; by email it leaves from our address."""
    _require_staff(by)
    claim = _locked(claim)
    if not can_proceed(claim.send):
        raise ValidationError(_("This claim was already sent."), code="not_draft")
    if via not in SendingMethod.values:
        raise _field_error("via", _("Choose how it is sent."), code="invalid_method")
    if not claim.attachments.filter(document__isnull=False).exists():
        raise ValidationError(
            _("Attach the care sheet, the invoice or the prescription first."),
            code="documents_required",
        )
    if via == SendingMethod.EMAIL and not claim.payer_email:
        raise _field_error(
            "via",
            _("The payer's claims email is unknown: send it by post or portal."),
            code="payer_email_missing",
        )
    before = claim.state
    claim.send(via=via, at=timezone.now())
    claim.save(
        update_fields=["state", "sent_via", "sent_at", "awaiting_since", "updated_at"]
    )
    event = _event(
        claim, kind=ClaimEvent.Kind.SENT, by=by, from_state=before, comment=comment
    )
    _publish(claim, event)
    if via == SendingMethod.EMAIL:
        email_payer(claim, kind="sent", template=TO_PAYER_TEMPLATE, extra={})
    return claim


@transaction.atomic
def acknowledge_claim(
    *, claim: Claim, by: Actor, payer_reference: str = "", comment: str = ""
) -> Claim:
    """The payer confirmed receipt (and may give its own file number)."""
    claim = _locked(claim)
    _require_staff_or_payer(by, claim)
    if not can_proceed(claim.acknowledge):
        raise ValidationError(
            _("Only a claim sent or appealed can be acknowledged."),
            code="not_acknowledgeable",
        )
    before = claim.state
    claim.acknowledge(at=timezone.now(), payer_reference=payer_reference.strip())
    claim.save(
        update_fields=[
            "state",
            "acknowledged_at",
            "awaiting_since",
            "payer_reference",
            "updated_at",
        ]
    )
    event = _event(
        claim,
        kind=ClaimEvent.Kind.ACKNOWLEDGED,
        by=by,
        from_state=before,
        comment=comment,
    )
    _publish(claim, event)
    return claim


def _patient_contact(patient: Patient) -> tuple[str, str, str, User | None]:
    """Email, first name, language and account of whoever reads the patient's mail.

    A child's mail goes to a guardian.
    """
    user = patient.user
    if user is not None and user.is_active:
        return (
            user.email,
            patient.first_names.split()[0] if patient.first_names else "",
            patient.preferred_language or settings.LANGUAGE_CODE,
            user,
        )
    if patient.email:
        first = patient.first_names.split()[0] if patient.first_names else ""
        return patient.email, first, patient.preferred_language, None
    guardianship = (
        Guardianship.objects.active()
        .filter(patient=patient, guardian__is_active=True)
        .select_related("guardian")
        .order_by("created_at")
        .first()
    )
    if guardianship is None:
        return "", "", settings.LANGUAGE_CODE, None
    guardian = guardianship.guardian
    return (
        guardian.email,
        guardian.first_name,
        guardian.language or settings.LANGUAGE_CODE,
        guardian,
    )


def _tell_patient_money_arrived(claim: Claim, event: ClaimEvent) -> None:
    email, first_name, language, user = _patient_contact(claim.patient)
    if not email:
        return
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    subject = subject_for(claim)
    # No act, no specialty: only who paid and how much (read on lock screens).
    schedule_message(
        key=message_key(subject=subject, kind=f"payment-{event.pk}", channel="email"),
        channel="email",
        to=email,
        template=PAYMENT_TEMPLATE,
        context={
            "first_name": first_name,
            "payer_kind": claim.payer,
            "amount": str(event.amount),
            "paid_in_full": claim.state == Claim.State.PAID
            and not claim.discrepancy_flagged,
            "link": settings.SITE_URL + claim.get_absolute_url(),
        },
        due_at=timezone.now(),
        language=language,
        user=user,
        subject=subject,
    )


@transaction.atomic
def record_claim_payment(
    *,
    claim: Claim,
    by: Actor,
    amount: Decimal,
    final: bool = False,
    payer_reference: str = "",
    comment: str = "",
) -> Claim:
    """Count money received from the payer; payments accumulate.

    Reaching what was expected (within the tolerance), or a payment the payer
    says is final, settles the claim; less than expected beyond the tolerance is
    flagged as a discrepancy. The patient is told by email after the commit.
    """
    amount = _amount(amount)
    claim = _locked(claim)
    _require_staff_or_payer(by, claim)
    if claim.state not in Claim.PAYABLE_STATES:
        raise ValidationError(
            _("This claim does not wait for a payment."), code="not_payable"
        )
    if claim.amount_received + amount > claim.amount_charged:
        raise _field_error(
            "amount",
            _("In total the payer would pay more than the patient paid."),
            code="amount_over_charged",
        )
    settles = final or (
        claim.amount_received + amount >= claim.amount_expected - tolerance()
    )
    transition = claim.settle if settles else claim.pay_in_part
    if not can_proceed(transition):
        raise ValidationError(
            _("This claim does not wait for a payment."), code="not_payable"
        )
    before = claim.state
    transition(amount=amount, at=timezone.now(), tolerance=tolerance())
    if payer_reference.strip():
        claim.payer_reference = payer_reference.strip()
    claim.save(
        update_fields=[
            "state",
            "amount_received",
            "discrepancy_flagged",
            "last_paid_at",
            "paid_at",
            "awaiting_since",
            "payer_reference",
            "updated_at",
        ]
    )
    event = _event(
        claim,
        kind=ClaimEvent.Kind.PAYMENT,
        by=by,
        from_state=before,
        amount=amount,
        comment=comment,
    )
    _tell_patient_money_arrived(claim, event)
    _publish(claim, event)
    return claim


@transaction.atomic
def reject_claim(*, claim: Claim, by: Actor, reason: str) -> Claim:
    """The payer refuses to pay; its reason is kept and shown to the patient."""
    reason = (reason or "").strip()
    if not reason:
        raise _field_error(
            "reason", _("Give the reason of the refusal."), code="reason_required"
        )
    claim = _locked(claim)
    _require_staff_or_payer(by, claim)
    if not can_proceed(claim.reject):
        raise ValidationError(
            _("Only a claim awaiting an answer can be rejected."),
            code="not_rejectable",
        )
    before = claim.state
    claim.reject(at=timezone.now(), reason=reason)
    claim.save(
        update_fields=[
            "state",
            "rejected_at",
            "rejection_reason",
            "awaiting_since",
            "updated_at",
        ]
    )
    event = _event(
        claim, kind=ClaimEvent.Kind.REJECTED, by=by, from_state=before, comment=reason
    )
    _publish(claim, event)
    return claim


@transaction.atomic
def appeal_claim(*, claim: Claim, by: Actor, comment: str) -> Claim:
    """Contest a rejection or a payment short of what is due; an answer is awaited."""
    comment = (comment or "").strip()
    if not comment:
        raise _field_error(
            "comment", _("Give the grounds of the appeal."), code="comment_required"
        )
    _require_staff(by)
    claim = _locked(claim)
    if not can_proceed(claim.appeal):
        raise ValidationError(
            _("Only a rejection or a payment short of what is due can be appealed."),
            code="not_appealable",
        )
    before = claim.state
    claim.appeal(at=timezone.now())
    claim.save(update_fields=["state", "appealed_at", "awaiting_since", "updated_at"])
    event = _event(
        claim, kind=ClaimEvent.Kind.APPEALED, by=by, from_state=before, comment=comment
    )
    _publish(claim, event)
    return claim


@transaction.atomic
def close_claim(*, claim: Claim, by: Actor, comment: str = "") -> Claim:
    """File the claim away; unless it was paid in full, say why."""
    _require_staff(by)
    claim = _locked(claim)
    comment = (comment or "").strip()
    settled = claim.state == Claim.State.PAID and not claim.discrepancy_flagged
    if not settled and not comment:
        raise _field_error(
            "comment",
            _("Say why the claim is closed before it was paid in full."),
            code="comment_required",
        )
    if not can_proceed(claim.close):
        raise ValidationError(_("This claim is already closed."), code="already_closed")
    before = claim.state
    claim.close(at=timezone.now())
    claim.save(update_fields=["state", "closed_at", "awaiting_since", "updated_at"])
    event = _event(
        claim, kind=ClaimEvent.Kind.CLOSED, by=by, from_state=before, comment=comment
    )
    _publish(claim, event)
    return claim
