"""The patient file in the portal: for the patient, their guardians, and the
practitioners they share it with. Every page showing health data writes one access
log row; every change goes through patients.services."""

from datetime import datetime, time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from conciergerie.accounts.roles import Role
from conciergerie.audit.models import AccessLog

from . import services
from .access import (
    AuditObject,
    MedicalAccess,
    audit,
    document_access,
    manages,
    may_add_document,
    medical_access,
)
from .forms import (
    ConsentForm,
    DependantForm,
    DocumentUploadForm,
    ErasureForm,
    IdentityForm,
    InsuranceForm,
    MedicalProfileForm,
    RegistrationForm,
    ShareForm,
)
from .models import (
    Channel,
    Document,
    ErasureRequest,
    Guardianship,
    HealthDataConsent,
    InsuranceCoverage,
    MedicalProfile,
    Patient,
    SharingConsent,
    normalise_reference,
)


def _visible_patient(request: HttpRequest, reference: str) -> Patient:
    return get_object_or_404(
        Patient.objects.visible_to(request.user),
        reference=normalise_reference(reference),
    )


def _managed_patient(request: HttpRequest, reference: str) -> Patient:
    """A file the user owns or manages as guardian; anyone else gets a 404."""
    patient = get_object_or_404(
        Patient.objects.managed_by(request.user),
        reference=normalise_reference(reference),
    )
    if patient.is_erased:
        raise Http404
    return patient


def _apply_errors(form, error: ValidationError) -> None:
    """Attach a service's ValidationError to the form's fields (or to the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _not_cached(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    return response


def _back_office_redirect(
    request: HttpRequest, patient: Patient
) -> HttpResponse | None:
    if request.user.is_back_office or request.user.is_superuser:
        return redirect("admin:patients_patient_change", patient.pk)
    return None


# --- My files -------------------------------------------------------------------------
@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The files this person manages: their own and their dependants'."""
    managed = Patient.objects.managed_by(request.user)
    if request.user.has_role(Role.PRACTITIONER, Role.PARTNER) and not managed.exists():
        return redirect("patients:shared")
    own = Patient.objects.filter(user=request.user, merged_into__isnull=True).first()
    dependants = (
        Patient.objects.managed_by(request.user)
        .exclude(user=request.user)
        .prefetch_related("guardianships")
    )
    if own is None and not dependants.exists():
        return redirect("patients:register")
    return render(
        request,
        "patients/index.html",
        {"own": own, "dependants": dependants},
    )


@login_required
@never_cache
def register(request: HttpRequest) -> HttpResponse:
    """The patient completes their own file (identity, contact, consent)."""
    if Patient.objects.filter(user=request.user).exists():
        return redirect("patients:index")
    initial = {
        "email": request.user.email,
        "last_name": request.user.last_name,
        "first_names": request.user.first_name,
        "preferred_language": (request.LANGUAGE_CODE or "fr")[:2],
    }
    form = RegistrationForm(request.POST or None, initial=initial)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.register_patient(
                patient=form.save(commit=False),
                by=request.user,
                channel=Channel.PORTAL,
                user=request.user,
                confirm_duplicate=form.cleaned_data["confirm_duplicate"],
                health_data_consent=form.cleaned_data["health_data_consent"],
                request=request,
            )
        except services.PossibleDuplicate as error:
            duplicates = error.candidates
            form.add_error(None, error)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request,
                _("Your file %(reference)s is open.")
                % {"reference": patient.reference},
            )
            return redirect(patient)
    return render(
        request,
        "patients/register.html",
        {"form": form, "duplicates": duplicates, "dependant": False},
    )


@login_required
@never_cache
def add_dependant(request: HttpRequest) -> HttpResponse:
    """A parent or legal representative opens the file of someone in their care."""
    form = DependantForm(request.POST or None, initial={"relationship": "parent"})
    duplicates = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.add_dependant(
                guardian=request.user,
                patient=form.save(commit=False),
                relationship=form.cleaned_data["relationship"],
                confirm_duplicate=form.cleaned_data["confirm_duplicate"],
                health_data_consent=form.cleaned_data["health_data_consent"],
                request=request,
            )
        except services.PossibleDuplicate as error:
            duplicates = error.candidates
            form.add_error(None, error)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request,
                _("The file %(reference)s of %(name)s is open.")
                % {"reference": patient.reference, "name": patient.first_names},
            )
            return redirect(patient)
    return render(
        request,
        "patients/register.html",
        {"form": form, "duplicates": duplicates, "dependant": True},
    )


@login_required
def shared_with_me(request: HttpRequest) -> HttpResponse:
    """For a practitioner: the patients who shared their file or a document."""
    consents = (
        SharingConsent.objects.active()
        .filter(recipient=request.user)
        .select_related("patient", "document")
        .order_by("patient__last_name", "-granted_at")
    )
    return render(request, "patients/shared.html", {"consents": consents})


# --- One file -------------------------------------------------------------------------
@login_required
@never_cache
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    patient = _visible_patient(request, reference)
    if (response := _back_office_redirect(request, patient)) is not None:
        return response
    is_manager = manages(request.user, patient)
    access = medical_access(request.user, patient)
    documents = (
        Document.objects.visible_to(request.user)
        .filter(patient=patient)
        .select_related("patient")
    )
    profile = (
        MedicalProfile.objects.filter(patient=patient).first()
        if access is MedicalAccess.GRANTED
        else None
    )
    shows_medical = access is MedicalAccess.GRANTED or documents.exists()
    audit(
        by=request.user,
        action=AccessLog.Action.READ,
        patient=patient,
        what=AuditObject.MEDICAL_FILE if shows_medical else AuditObject.IDENTITY,
        object_id=patient.reference,
        request=request,
    )
    context = {
        "patient": patient,
        "is_manager": is_manager,
        "medical_granted": access is MedicalAccess.GRANTED,
        "profile": profile,
        "documents": documents,
        "insurance": patient.current_insurance() if is_manager else None,
        "consent": HealthDataConsent.objects.active().filter(patient=patient).first(),
        "guardians": Guardianship.objects.active()
        .filter(patient=patient)
        .select_related("guardian")
        if is_manager
        else [],
        "open_erasure": ErasureRequest.objects.open().filter(patient=patient).first(),
        "manager_view": is_manager,
        "section": "overview",
    }
    return _not_cached(render(request, "patients/detail.html", context))


@login_required
@never_cache
def identity_edit(request: HttpRequest, reference: str) -> HttpResponse:
    """Rectification of identity and contact data (GDPR art. 16)."""
    patient = _managed_patient(request, reference)
    form = IdentityForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_identity(
                patient=form.instance,
                by=request.user,
                changed_fields=form.changed_data,
                request=request,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect(patient)
    return render(
        request,
        "patients/identity_form.html",
        {"patient": patient, "form": form, "manager_view": True, "section": "identity"},
    )


@login_required
@never_cache
def insurance_edit(request: HttpRequest, reference: str) -> HttpResponse:
    """The current coverage: Assurance Maladie and mutuelle."""
    patient = _managed_patient(request, reference)
    coverage = patient.current_insurance() or InsuranceCoverage(patient=patient)
    form = InsuranceForm(request.POST or None, instance=coverage)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_insurance_coverage(
                coverage=form.save(commit=False), by=request.user, request=request
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Your insurance details are saved."))
            return redirect(patient)
    elif request.method == "GET" and coverage.pk:
        audit(
            by=request.user,
            action=AccessLog.Action.READ,
            patient=patient,
            what=AuditObject.INSURANCE,
            object_id=coverage.pk,
            request=request,
        )
    return _not_cached(
        render(
            request,
            "patients/insurance_form.html",
            {
                "patient": patient,
                "form": form,
                "manager_view": True,
                "section": "insurance",
            },
        )
    )


@login_required
@never_cache
def medical_profile(request: HttpRequest, reference: str) -> HttpResponse:
    """History, allergies, treatments, specific needs: encrypted, consent required."""
    patient = _managed_patient(request, reference)
    profile = MedicalProfile.objects.filter(patient=patient).first() or MedicalProfile(
        patient=patient
    )
    consented = services.has_health_data_consent(patient)
    form = MedicalProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_medical_profile(
                patient=patient,
                by=request.user,
                data=form.profile_data(),
                request=request,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Your medical profile is saved."))
            return redirect(patient)
    elif request.method == "GET" and profile.pk:
        audit(
            by=request.user,
            action=AccessLog.Action.READ,
            patient=patient,
            what=AuditObject.MEDICAL_PROFILE,
            object_id=profile.pk,
            request=request,
        )
    return _not_cached(
        render(
            request,
            "patients/medical_form.html",
            {
                "patient": patient,
                "form": form,
                "consented": consented,
                "manager_view": True,
                "section": "medical",
            },
        )
    )


@login_required
@never_cache
def documents(request: HttpRequest, reference: str) -> HttpResponse:
    """The documents of a file, and the form to add one."""
    patient = _visible_patient(request, reference)
    if not may_add_document(request.user, patient) and not manages(
        request.user, patient
    ):
        raise Http404
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.upload_document(
                patient=patient,
                by=request.user,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                document_date=form.cleaned_data["document_date"],
                source=form.cleaned_data["source"],
                channel=Channel.PORTAL,
                request=request,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("The document is added to the file."))
            return redirect("patients:documents", reference=patient.reference)
    listed = (
        Document.objects.visible_to(request.user)
        .filter(patient=patient)
        .select_related("patient")
    )
    if request.method == "GET" and listed.exists():
        audit(
            by=request.user,
            action=AccessLog.Action.READ,
            patient=patient,
            what=AuditObject.DOCUMENT,
            request=request,
        )
    return _not_cached(
        render(
            request,
            "patients/documents.html",
            {
                "patient": patient,
                "documents": listed,
                "form": form,
                "consented": services.has_health_data_consent(patient),
                "max_size": settings.DOCUMENT_MAX_UPLOAD_BYTES,
                "manager_view": manages(request.user, patient),
                "section": "documents",
            },
        )
    )


@login_required
@never_cache
def document_download(
    request: HttpRequest, reference: str, document_id
) -> HttpResponse:
    """The only way to a document's bytes: permission and consent checked now,
    one access log row, no caching, always as an attachment."""
    document = get_object_or_404(
        Document.objects.visible_to(request.user).select_related("patient"),
        pk=document_id,
        patient__reference=normalise_reference(reference),
    )
    access = document_access(request.user, document)
    if access is MedicalAccess.BREAK_GLASS:
        return redirect(
            reverse("admin:patients_patient_break_glass", args=[document.patient_id])
            + "?next="
            + request.path
        )
    if access is not MedicalAccess.GRANTED:
        raise Http404
    content = services.open_document(
        document=document, by=request.user, request=request
    )
    response = HttpResponse(content, content_type=document.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{services.document_filename(document)}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _not_cached(response)


@login_required
@never_cache
def summary_pdf(request: HttpRequest, reference: str) -> HttpResponse:
    """The synthetic medical summary, for the practitioners the patient chose."""
    patient = _visible_patient(request, reference)
    access = medical_access(request.user, patient)
    if access is MedicalAccess.BREAK_GLASS:
        return redirect(
            reverse("admin:patients_patient_break_glass", args=[patient.pk])
            + "?next="
            + request.path
        )
    if access is not MedicalAccess.GRANTED:
        raise Http404
    pdf = services.render_summary_pdf(
        patient=patient,
        by=request.user,
        documents=Document.objects.visible_to(request.user)
        .filter(patient=patient)
        .select_related("patient"),
        request=request,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="synthese-{patient.reference}.pdf"'
    )
    return _not_cached(response)


# --- Consents -------------------------------------------------------------------------
@login_required
@never_cache
def consents(request: HttpRequest, reference: str) -> HttpResponse:
    patient = _managed_patient(request, reference)
    return render(
        request,
        "patients/consents.html",
        {
            "patient": patient,
            "consent": HealthDataConsent.objects.active()
            .filter(patient=patient)
            .first(),
            "consent_form": ConsentForm(),
            "share_form": ShareForm(patient=patient),
            "sharings": SharingConsent.objects.filter(patient=patient)
            .select_related("recipient", "document")
            .order_by("revoked_at", "-granted_at"),
            "history": HealthDataConsent.objects.filter(patient=patient),
            "manager_view": True,
            "section": "consents",
        },
    )


@login_required
@require_POST
def give_consent(request: HttpRequest, reference: str) -> HttpResponse:
    patient = _managed_patient(request, reference)
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.give_health_data_consent(
            patient=patient, by=request.user, channel=Channel.PORTAL, request=request
        )
        messages.success(request, _("Thank you: your consent is recorded."))
    else:
        messages.error(request, _("Tick the box to give your consent."))
    return redirect("patients:consents", reference=patient.reference)


@login_required
@require_POST
def withdraw_consent(request: HttpRequest, reference: str) -> HttpResponse:
    patient = _managed_patient(request, reference)
    services.withdraw_health_data_consent(
        patient=patient, by=request.user, request=request
    )
    messages.success(
        request,
        _(
            "Your consent is withdrawn and every sharing stopped. We keep the records "
            "already made for the legal retention period."
        ),
    )
    return redirect("patients:consents", reference=patient.reference)


@login_required
@never_cache
def share(request: HttpRequest, reference: str) -> HttpResponse:
    patient = _managed_patient(request, reference)
    form = ShareForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        recipient = services.find_recipient(form.cleaned_data["email"])
        if recipient is None:
            form.add_error(
                "email",
                ValidationError(
                    _(
                        "No practitioner has an account with this address. Check it, "
                        "or ask us to invite them."
                    ),
                    code="unknown_practitioner",
                ),
            )
        else:
            expires_on = form.cleaned_data["expires_on"]
            expires_at = (
                timezone.make_aware(datetime.combine(expires_on, time.max))
                if expires_on
                else None
            )
            try:
                services.share_with(
                    patient=patient,
                    recipient=recipient,
                    document=form.cleaned_data["document"],
                    expires_at=expires_at,
                    by=request.user,
                    request=request,
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Shared with %(name)s.")
                    % {"name": recipient.get_full_name() or recipient.email},
                )
                return redirect("patients:consents", reference=patient.reference)
    return render(
        request,
        "patients/share_form.html",
        {"patient": patient, "form": form, "manager_view": True, "section": "consents"},
    )


@login_required
@require_POST
def revoke(request: HttpRequest, reference: str, consent_id) -> HttpResponse:
    patient = _managed_patient(request, reference)
    consent = get_object_or_404(SharingConsent, pk=consent_id, patient=patient)
    services.revoke_sharing(consent=consent, by=request.user, request=request)
    messages.success(request, _("The sharing is stopped, starting now."))
    return redirect("patients:consents", reference=patient.reference)


# --- Access log and rights ------------------------------------------------------------
@login_required
@never_cache
def access_log(request: HttpRequest, reference: str) -> HttpResponse:
    """Who accessed the file, when, through which face, and why."""
    patient = _managed_patient(request, reference)
    rows = AccessLog.objects.for_patients([patient.reference]).order_by("-occurred_at")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    labels = dict(AuditObject.choices)
    for row in page.object_list:
        row.object_label = labels.get(row.object_type, "")
    return render(
        request,
        "patients/access_log.html",
        {"patient": patient, "page": page, "manager_view": True, "section": "access"},
    )


@login_required
@never_cache
def rights(request: HttpRequest, reference: str) -> HttpResponse:
    patient = _managed_patient(request, reference)
    return render(
        request,
        "patients/rights.html",
        {
            "patient": patient,
            "erasure_form": ErasureForm(),
            "requests": [
                (erasure, services.gdpr.describe_outcome(erasure.outcome))
                for erasure in ErasureRequest.objects.filter(patient=patient)
            ],
            "manager_view": True,
            "section": "rights",
        },
    )


@login_required
@require_POST
def export(request: HttpRequest, reference: str) -> HttpResponse:
    """Download the whole file: JSON, a readable PDF and every document."""
    patient = _managed_patient(request, reference)
    filename, archive = services.build_export(
        patient=patient, by=request.user, request=request
    )
    response = FileResponse(
        archive, as_attachment=True, filename=filename, content_type="application/zip"
    )
    return _not_cached(response)


@login_required
@require_POST
def request_erasure(request: HttpRequest, reference: str) -> HttpResponse:
    patient = _managed_patient(request, reference)
    form = ErasureForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm your request."))
        return redirect("patients:rights", reference=patient.reference)
    try:
        with transaction.atomic():
            services.request_erasure(
                patient=patient,
                by=request.user,
                message=form.cleaned_data["message"],
                request=request,
            )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _(
                "Your request is recorded. A concierge handles it within one month and "
                "tells you by email what was erased and what must be kept."
            ),
        )
    return redirect("patients:rights", reference=patient.reference)
