"""Care requests in the portal: the patient's (and their children's) requests, the
guided intake, the status and timeline in plain words, the messages, the care plan.

A request of a file the user does not manage answers 404. Red flags, at intake or
in a message, show the emergency numbers before anything else.
"""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from conciergerie.accounts.models import User
from conciergerie.audit.models import AccessLog

from . import triage, viewing
from .access import AuditObject, audit
from .care_forms import (
    CancelRequestForm,
    IntakeDetailsForm,
    IntakeStartForm,
    MessageForm,
)
from .models import (
    CarePlan,
    CareRequest,
    CareRequestMessage,
    CareTask,
    Document,
    Patient,
    may_transition,
    normalise_care_request_reference,
    normalise_reference,
)
from .services import care_requests, care_team
from .services.care_requests import RoleNotAllowed


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here requires one)."""
    return cast(User, request.user)


def _not_cached(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    return response


def _managed_files(request: HttpRequest) -> list[Patient]:
    return list(
        Patient.objects.managed_by(_user(request))
        .filter(erased_at__isnull=True, purged_at__isnull=True)
        .order_by("-user", "birth_date")
    )


def _managed_request(request: HttpRequest, reference: str) -> CareRequest:
    """A request of a file this user manages (own or a child's); else 404."""
    return get_object_or_404(
        CareRequest.objects.filter(
            patient__in=Patient.objects.managed_by(_user(request))
        ).select_related("patient", "assigned_to"),
        reference=normalise_care_request_reference(reference),
    )


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def emergency_numbers(*, suicidal: bool) -> list[dict]:
    """The numbers to call, in the order a person in danger needs them."""
    numbers = [
        {"number": "15", "href": "tel:15", "label": _("SAMU, medical emergencies")},
        {"number": "112", "href": "tel:112", "label": _("European emergency number")},
        {
            "number": "114",
            "href": "sms:114",
            "label": _("by SMS, for deaf or hard-of-hearing people"),
        },
        {
            "number": "3114",
            "href": "tel:3114",
            "label": _("suicide prevention, 24/7, free"),
        },
    ]
    if suicidal:
        numbers.insert(0, numbers.pop())
    return numbers


def _emergency_context(red_flags: list[dict]) -> dict:
    suicidal = any(flag.get("code") == "suicidal" for flag in red_flags)
    advice = []
    for flag in red_flags:
        text = care_requests.red_flag_text(flag, "advice")
        if text and text not in advice:
            advice.append(text)
    return {
        "emergency_numbers": emergency_numbers(suicidal=suicidal),
        "emergency_advice": advice,
        "suicidal": suicidal,
    }


# --- My requests --------------------------------------------------------------------


@login_required
@never_cache
def index(request: HttpRequest) -> HttpResponse:
    """The requests of the files this person manages, newest first."""
    if _user(request).is_back_office or _user(request).is_superuser:
        return redirect("admin:patients_carerequest_changelist")
    files = _managed_files(request)
    viewed = viewing.current_patient(request)
    requests = (
        CareRequest.objects.filter(
            patient__in=[viewed] if viewed is not None else files
        )
        .select_related("patient")
        .annotate(
            unread=Count(
                "messages",
                filter=Q(
                    messages__side=CareRequestMessage.Side.CONCIERGE,
                    messages__read_at__isnull=True,
                ),
            )
        )
        .order_by("-created_at")
    )
    return _not_cached(
        render(
            request,
            "patients/care_requests/index.html",
            {
                "care_requests": requests,
                "files": files,
                "open_states": CareRequest.OPEN_STATES,
            },
        )
    )


def _viewed_reference(request: HttpRequest) -> str | None:
    viewed = viewing.current_patient(request)
    return viewed.reference if viewed is not None else None


@login_required
@never_cache
def new(request: HttpRequest) -> HttpResponse:
    """The guided intake: step one (need), then step two (questions, preferences)."""
    files = _managed_files(request)
    if not files:
        messages.info(request, _("Complete your file first: we need to know you."))
        return redirect("patients:register")
    step = request.POST.get("step") if request.method == "POST" else "start"
    start = IntakeStartForm(
        request.POST if request.method == "POST" else None,
        files=files,
        user=_user(request),
        prefix="start",
        initial={"patient": request.GET.get("for") or _viewed_reference(request)},
    )
    if request.method != "POST" or not start.is_valid():
        return _render_start(request, start)
    patient = start.cleaned_data["patient"]
    need = start.cleaned_data["need"]
    if step == "start" and triage.find_red_flags(need):
        # Danger in the patient's own words: open the request now, on the
        # emergency path, before asking anything else.
        response = _submit(request, start=start, patient=patient, details=None)
        return response or _render_start(request, start)
    suggestion = triage.suggest_specialty(need)
    specialty = start.cleaned_data["specialty"] or suggestion.code
    details_data = request.POST if step == "details" else None
    if details_data is not None:
        specialty = details_data.get("details-specialty") or specialty
        asked_for = details_data.get("details-questions_for") or ""
        if asked_for != specialty:
            details_data = None  # the specialty changed: show its own questions
    details = IntakeDetailsForm(
        details_data,
        request.FILES if details_data is not None else None,
        prefix="details",
        specialty=specialty,
        patient=patient,
        dependants=[file for file in files if file.pk != patient.pk],
    )
    if details_data is not None and details.is_valid():
        response = _submit(request, start=start, patient=patient, details=details)
        if response is not None:
            return response
    hidden = IntakeStartForm(
        request.POST, files=files, user=_user(request), prefix="start", hidden=True
    )
    hidden.is_valid()
    return _not_cached(
        render(
            request,
            "patients/care_requests/new_details.html",
            {
                "start": hidden,
                "form": details,
                "patient": patient,
                "suggestion": suggestion,
                "suggested_label": care_requests.specialty_label(suggestion.code),
                "chosen_by_patient": bool(start.cleaned_data["specialty"]),
                "specialty_changed": step == "details" and details_data is None,
            },
        )
    )


def _render_start(request: HttpRequest, form: IntakeStartForm) -> HttpResponse:
    return _not_cached(
        render(request, "patients/care_requests/new_start.html", {"form": form})
    )


def _submit(
    request: HttpRequest,
    *,
    start: IntakeStartForm,
    patient: Patient,
    details: IntakeDetailsForm | None,
) -> HttpResponse | None:
    """Open the request; on a refusal, the errors go to the form (None returned)."""
    data = start.cleaned_data
    kwargs = {
        "patient": patient,
        "by": _user(request),
        "channel": CareRequest.IntakeChannel.PORTAL,
        "kind": data["kind"],
        "need": data["need"],
        "specialty": data["specialty"],
        "request": request,
    }
    if details is not None:
        child = details.chosen_child()
        document_kind = (
            Document.Kind.PHOTO if details.asks_photos else Document.Kind.OTHER
        )
        kwargs.update(
            patient=child or patient,
            specialty=details.cleaned_data.get("specialty") or data["specialty"],
            answers=details.answers(),
            preferences=details.preferences(),
            attachments=[
                (upload, document_kind)
                for upload in details.cleaned_data.get("attachments") or []
            ],
        )
    try:
        care_request = care_requests.submit_care_request(**kwargs)
    except ValidationError as error:
        _apply_errors(details if details is not None else start, error)
        return _render_start(request, start) if details is None else None
    except RoleNotAllowed as error:
        raise Http404 from error
    if care_request.state != CareRequest.State.EMERGENCY:
        messages.success(
            request,
            _("Your request %(reference)s is sent. A concierge will get back to you.")
            % {"reference": care_request.reference},
        )
    return redirect(care_request)


# --- One request --------------------------------------------------------------------


@login_required
@never_cache
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    """Status and timeline in plain words, the proposal, the messages."""
    if _user(request).is_back_office or _user(request).is_superuser:
        care_request = get_object_or_404(
            CareRequest, reference=normalise_care_request_reference(reference)
        )
        return redirect("admin:patients_carerequest_change", care_request.pk)
    care_request = _managed_request(request, reference)
    viewing.show(request, care_request.patient)
    care_team.mark_messages_read(care_request=care_request, by=_user(request))
    audit(
        by=_user(request),
        action=AccessLog.Action.READ,
        patient=care_request.patient,
        what=AuditObject.CARE_REQUEST,
        object_id=care_request.reference,
        request=request,
    )
    context = {
        "care_request": care_request,
        "timeline": care_request.events.public().order_by("created_at", "pk"),
        "thread": care_request.messages.select_related("author"),
        "message_form": MessageForm(),
        "cancel_form": CancelRequestForm(),
        "may_cancel": can_proceed(care_request.cancel)
        and may_transition(_user(request), care_request, "cancel"),
        "may_write": care_request.is_open,
        "tasks": CareTask.objects.visible_to(_user(request)).filter(
            care_request=care_request
        ),
        "proposal": _proposal(care_request),
        "documents": care_request.documents.all(),
        "specialty_label": care_requests.specialty_label(
            care_request.specialty or care_request.suggested_specialty
        ),
    }
    if care_request.state == CareRequest.State.EMERGENCY:
        context.update(_emergency_context(care_request.red_flags or []))
        context["emergency"] = True
    return _not_cached(render(request, "patients/care_requests/detail.html", context))


def _proposal(care_request: CareRequest) -> list:
    if care_request.state != CareRequest.State.PROPOSED:
        return []
    shortlist = care_requests._published_shortlist(care_request)
    if shortlist is None:
        return []
    return list(
        shortlist.entries.select_related("practitioner").prefetch_related(
            "practitioner__specialties"
        )
    )


@login_required
@require_POST
def message(request: HttpRequest, reference: str) -> HttpResponse:
    care_request = _managed_request(request, reference)
    form = MessageForm(request.POST)
    target = reverse("patients:care-request", args=[care_request.reference])
    if not form.is_valid():
        messages.error(request, _("Write your message before sending it."))
        return redirect(target + "#messages")
    try:
        posted = care_team.post_message(
            care_request=care_request, by=_user(request), body=form.cleaned_data["body"]
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    except RoleNotAllowed as error:
        raise Http404 from error
    else:
        if posted.red_flags:
            messages.error(
                request,
                _(
                    "What you describe may be an emergency: call 15 (or 112) now. "
                    "Your concierge is alerted."
                ),
            )
            return redirect(target)
        messages.success(request, _("Your message is sent."))
    return redirect(target + "#messages")


@login_required
@require_POST
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    care_request = _managed_request(request, reference)
    form = CancelRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tell us why you cancel."))
        return redirect(care_request)
    try:
        care_requests.cancel_care_request(
            care_request=care_request,
            by=_user(request),
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    except (RoleNotAllowed, PermissionDenied):
        messages.error(
            request,
            _("This request can no longer be cancelled here: write to your concierge."),
        )
    else:
        messages.success(request, _("Your request is cancelled."))
    return redirect(care_request)


# --- Care plan ----------------------------------------------------------------------


@login_required
@never_cache
def care_plan(request: HttpRequest, reference: str) -> HttpResponse:
    """The personalised care plan of a file, once the team has shared it."""
    patient = get_object_or_404(
        Patient.objects.managed_by(_user(request)),
        reference=normalise_reference(reference),
    )
    plan = get_object_or_404(
        CarePlan.objects.visible_to(_user(request)), patient=patient
    )
    audit(
        by=_user(request),
        action=AccessLog.Action.READ,
        patient=patient,
        what=AuditObject.CARE_PLAN,
        request=request,
    )
    return _not_cached(
        render(
            request,
            "patients/care_requests/care_plan.html",
            {
                "patient": patient,
                "plan": plan,
                "steps": plan.steps.select_related("care_request"),
                "section": "care-plan",
                "manager_view": True,
            },
        )
    )
