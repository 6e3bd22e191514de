"""Patient portal: simulate a visit's cost, follow claims; the payer's document link."""

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conciergerie.audit.models import AccessLog
from patients import viewing
from patients.access import AuditObject, audit
from patients.models import Patient
from patients.services import document_filename

from . import services
from .engine import ZERO, Flag, Pathway
from .forms import EstimateForm, PaymentProofForm
from .models import Claim

#: Flags worth a warning box rather than a line of the explanation.
WARNING_FLAGS = [
    Flag.TELECONSULTATION_NOT_REIMBURSABLE,
    Flag.WRITTEN_INFORMATION_REQUIRED,
    Flag.C2S_OVERRUN_NOT_ALLOWED,
    Flag.OUTSIDE_PATHWAY,
]


def _own_file(user) -> Patient | None:
    return Patient.objects.active().filter(user=user).first()


def initial_from_file(patient: Patient) -> dict:
    """What the file already says, offered as answers the patient may change."""
    initial: dict = {"age": patient.age}
    coverage = patient.current_insurance()
    if coverage is not None:
        if coverage.coverage_rate is not None:
            initial["coverage_percent"] = int(coverage.coverage_rate)
        initial["responsible"] = coverage.contrat_responsable
        initial["c2s"] = coverage.c2s
        if not coverage.treating_doctor_declared:
            initial["pathway"] = Pathway.DIRECT
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def estimate(request: HttpRequest) -> HttpResponse:
    # A POST, not a GET: the answers (ALD, pregnancy) must not end up in URLs,
    # browser history or access logs. Nothing is saved.
    result = None
    patient = _own_file(request.user)
    recorded = patient is not None
    participation = None
    if request.method == "POST":
        form = EstimateForm(request.POST, participation_recorded=recorded)
        if form.is_valid():
            inputs = form.engine_inputs()
            if patient is not None:
                year = inputs["act"].performed_on.year
                participation = (
                    year,
                    services.participation_paid(patient=patient, year=year),
                )
                inputs["patient"] = dataclasses.replace(
                    inputs["patient"], participation_paid_this_year=participation[1]
                )
            try:
                result = services.estimate_for(**inputs)
            except ValidationError as error:
                form.add_error(None, error)
    else:
        form = EstimateForm(
            participation_recorded=recorded,
            initial=initial_from_file(patient) if patient else None,
        )
    warnings = (
        [flag for flag in WARNING_FLAGS if flag in result.flags] if result else []
    )
    return render(
        request,
        "reimbursements/estimate.html",
        {
            "form": form,
            "estimate": result,
            "warnings": warnings,
            "participation_recorded": recorded,
            "participation": participation,
        },
    )


# --- Claims -------------------------------------------------------------------------


@dataclass
class Visit:
    """The claims of one act or invoice: the Assurance Maladie's and the mutuelle's."""

    patient: Patient
    care_date: object
    label: str
    claims: list[Claim] = field(default_factory=list)

    @property
    def expected(self) -> Decimal:
        return sum((c.amount_expected for c in self.claims), start=ZERO)

    @property
    def received(self) -> Decimal:
        return sum((c.amount_received for c in self.claims), start=ZERO)

    @property
    def flagged(self) -> bool:
        return any(claim.discrepancy_flagged for claim in self.claims)


def _visits(claims) -> list[Visit]:
    visits: dict[tuple, Visit] = {}
    for claim in claims:
        key = (
            claim.patient_id,
            claim.recorded_act_id or "",
            claim.invoice_id or "",
            "" if claim.recorded_act_id or claim.invoice_id else claim.pk,
        )
        visit = visits.get(key)
        if visit is None:
            visit = visits[key] = Visit(
                patient=claim.patient, care_date=claim.care_date, label=claim.label
            )
        visit.claims.append(claim)
    return list(visits.values())


@login_required
@never_cache
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Per visit: what each payer should pay back, what it paid, what is awaited."""
    viewed = viewing.current_patient(request)
    claims = list(
        Claim.objects.for_portal(request.user)
        .filter(**({"patient": viewed} if viewed is not None else {}))
        .select_related("patient")
        .order_by("-care_date", "-created_at", "payer")
    )
    # A refused claim, or one closed without money, no longer counts as expected.
    counted = [
        claim
        for claim in claims
        if claim.state != Claim.State.REJECTED
        and not (claim.state == Claim.State.CLOSED and not claim.amount_received)
    ]
    return render(
        request,
        "reimbursements/index.html",
        {
            "visits": _visits(claims),
            "several_patients": len({claim.patient_id for claim in claims}) > 1,
            "expected": sum((c.amount_expected for c in counted), start=ZERO),
            "received": sum((c.amount_received for c in claims), start=ZERO),
            "outstanding": sum((c.amount_outstanding for c in claims), start=ZERO),
            "flagged": sum(1 for claim in claims if claim.discrepancy_flagged),
        },
    )


def _portal_claim(request: HttpRequest, public_id) -> Claim:
    return get_object_or_404(
        Claim.objects.for_portal(request.user).select_related("patient"),
        public_id=public_id,
    )


def _render_claim(
    request: HttpRequest, claim: Claim, form: PaymentProofForm, status=200
):
    return render(
        request,
        "reimbursements/claim_detail.html",
        {
            "claim": claim,
            "events": claim.events.filter(public=True).select_related("claim"),
            "attachments": claim.attachments.select_related("document"),
            "form": form,
            "accepts_proof": claim.state not in (Claim.State.DRAFT, Claim.State.CLOSED),
        },
        status=status,
    )


@login_required
@never_cache
@require_GET
def claim_detail(request: HttpRequest, public_id) -> HttpResponse:
    claim = _portal_claim(request, public_id)
    viewing.show(request, claim.patient)
    return _render_claim(request, claim, PaymentProofForm())


@login_required
@require_POST
def claim_proof(request: HttpRequest, public_id) -> HttpResponse:
    claim = _portal_claim(request, public_id)
    form = PaymentProofForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_payment_proof(
                claim=claim,
                by=request.user,
                upload=form.cleaned_data["file"],
                amount=form.cleaned_data["amount"],
                received_on=form.cleaned_data["received_on"],
                request=request,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, errors in error.error_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Thank you: your proof is filed and we will record the payment."),
            )
            return redirect(claim)
    return _render_claim(request, claim, form, status=400)


# --- The payer's link ---------------------------------------------------------------


def _payer_claim(token: str) -> Claim:
    claim = services.claim_for_payer_token(token)
    if claim is None:
        raise Http404
    return claim


@never_cache
@require_GET
def payer_documents(request: HttpRequest, token: str) -> HttpResponse:
    """The documents of a claim, for the payer's claims service (link by email)."""
    claim = _payer_claim(token)
    audit(
        by=None,
        action=AccessLog.Action.READ,
        patient=claim.patient,
        what=AuditObject.INSURANCE,
        object_id=claim.reference,
        request=request,
        reason=_("Claim opened by %(payer)s through the link of its email")
        % {"payer": claim.payer_label},
    )
    response = render(
        request,
        "reimbursements/payer_documents.html",
        {
            "claim": claim,
            "token": token,
            "attachments": claim.attachments.filter(
                document__isnull=False
            ).select_related("document"),
        },
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_GET
def payer_document(request: HttpRequest, token: str, document_id) -> HttpResponse:
    claim = _payer_claim(token)
    attachment = get_object_or_404(
        claim.attachments.select_related("document__patient"),
        document_id=document_id,
    )
    document = attachment.document
    if document is None:
        raise Http404
    content = services.open_claim_document(
        claim=claim,
        attachment=attachment,
        by=None,
        through_payer_link=True,
        request=request,
    )
    response = HttpResponse(content, content_type=document.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{document_filename(document)}"'
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
