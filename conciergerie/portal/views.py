"""The account's pages: whose file is shown, notification preferences, the privacy
centre and the security page (password, two-factor, signed-in browsers)."""

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from conciergerie.accounts.models import User
from conciergerie.audit.models import AccessLog
from patients import services as patient_services
from patients import viewing
from patients.access import AuditObject
from patients.models import ErasureRequest, HealthDataConsent, SharingConsent

from . import sessions
from .forms import NotificationPreferencesForm, SwitchFileForm

#: Access log rows shown in the privacy centre; the full log has its own page.
RECENT_ACCESSES = 5


def _next_page_for(request: HttpRequest, target: str, reference: str) -> str:
    """The same page for the newly chosen file, or the nearest list page.

    A page about one file is reopened for the other file; a page about one
    appointment, invoice or request of the previous file leads to its list.
    """
    fallback = reverse("dashboard")
    if not target or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return fallback
    path = target.split("?", 1)[0]
    try:
        match = resolve(path)
    except Resolver404:
        return fallback
    if not match.kwargs:
        return target
    shown = str(match.kwargs.get("reference", ""))
    if match.namespace == "patients" and shown.upper().startswith("P-"):
        return reverse(match.view_name, kwargs={**match.kwargs, "reference": reference})
    try:
        return reverse(f"{match.namespace}:index") if match.namespace else fallback
    except NoReverseMatch:
        return fallback


@login_required
@require_POST
def switch_file(request: HttpRequest) -> HttpResponse:
    form = SwitchFileForm(request.POST)
    if not form.is_valid():
        raise Http404
    patient = viewing.choose(request, form.cleaned_data["reference"])
    messages.info(
        request,
        _("You are now viewing the file of %(name)s.")
        % {"name": f"{patient.first_names} {patient.last_name}"},
    )
    return redirect(
        _next_page_for(request, form.cleaned_data["next"], patient.reference)
    )


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/account/index.html")


def _current_or_register(request: HttpRequest):
    patient = viewing.current_patient(request)
    if patient is None:
        messages.info(request, _("Complete your file first: it takes five minutes."))
    return patient


@login_required
@never_cache
def notifications(request: HttpRequest) -> HttpResponse:
    patient = _current_or_register(request)
    if patient is None:
        return redirect("patients:register")
    form = NotificationPreferencesForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            patient_services.update_identity(
                patient=form.instance,
                by=request.user,
                changed_fields=form.changed_data,
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            response = redirect("portal:notifications")
            if viewing.is_own(request, patient) and (
                "preferred_language" in form.changed_data
            ):
                language = patient.preferred_language
                user = cast(User, request.user)
                user.language = language
                user.save(update_fields=["language"])
                translation.activate(language)
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
                    secure=settings.LANGUAGE_COOKIE_SECURE,
                    httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                )
            messages.success(request, _("Your preferences are saved."))
            return response
    return render(
        request,
        "portal/account/notifications.html",
        {"form": form, "patient": patient},
    )


@login_required
@never_cache
def privacy(request: HttpRequest) -> HttpResponse:
    patient = _current_or_register(request)
    if patient is None:
        return redirect("patients:register")
    accesses = list(
        AccessLog.objects.for_patients([patient.reference]).order_by("-occurred_at")[
            :RECENT_ACCESSES
        ]
    )
    labels = dict(AuditObject.choices)
    for row in accesses:
        row.object_label = labels.get(row.object_type, "")
    return render(
        request,
        "portal/account/privacy.html",
        {
            "patient": patient,
            "consent": HealthDataConsent.objects.active()
            .filter(patient=patient)
            .first(),
            "sharing_count": SharingConsent.objects.active()
            .filter(patient=patient)
            .count(),
            "accesses": accesses,
            "open_erasure": ErasureRequest.objects.open()
            .filter(patient=patient)
            .first(),
        },
    )


@login_required
@never_cache
def security(request: HttpRequest) -> HttpResponse:
    from allauth.mfa.models import Authenticator

    current = sessions.current_id(request)
    rows = sessions.open_sessions(request.user)
    return render(
        request,
        "portal/account/security.html",
        {
            "has_password": cast(User, request.user).has_usable_password(),
            "totp_active": Authenticator.objects.filter(
                user=request.user, type=Authenticator.Type.TOTP
            ).exists(),
            "sessions": [
                {
                    "row": row,
                    "device": sessions.describe_device(row.user_agent),
                    "is_current": str(row.pk) == current,
                }
                for row in rows
            ],
            "others": sum(1 for row in rows if str(row.pk) != current),
        },
    )


@login_required
@require_POST
def sign_out_session(request: HttpRequest, session_id) -> HttpResponse:
    try:
        sessions.end_session(
            user=request.user,
            session_id=session_id,
            current=sessions.current_id(request),
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("That browser is signed out."))
    return redirect("portal:security")


@login_required
@require_POST
def sign_out_other_sessions(request: HttpRequest) -> HttpResponse:
    count = sessions.end_other_sessions(
        user=request.user, current=sessions.current_id(request)
    )
    if count:
        messages.success(
            request,
            _("Every other browser is signed out. Only this one stays signed in."),
        )
    else:
        messages.info(request, _("No other browser was signed in."))
    return redirect("portal:security")
