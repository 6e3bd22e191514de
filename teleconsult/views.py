"""Portal pages of teleconsultations: the device check and asking for help, the
patient's waiting room (from the portal or a personal link), the practitioner's
console (an account with its second factor, or a single-use link and a one-time
code), shared documents, and the phone fallback when the video cannot be reached.

Every write goes through teleconsult.services; a session the visitor has no part
in answers 404; a bad, foreign or expired link, or a visit outside the join
window, answers a plain page and is written in the patient's access log.
"""

from datetime import datetime
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from appointments.models import Appointment
from conciergerie.accounts.models import User

from . import eligibility, links, services
from .forms import CodeForm, NotesForm, ShareDocumentForm, SupportTicketForm
from .models import PractitionerPass, SharedDocument, TeleconsultationSession
from .services import sessions

#: Session keys: the sessions this browser entered through a personal link
#: (patient) or a spent practitioner link.
PATIENT_LINKS = "teleconsult.patient_links"
PRACTITIONER_PASSES = "teleconsult.practitioner_passes"
REACHABLE_CACHE_SECONDS = 30


# --- Device check and help ---------------------------------------------------------


def _waiting_room_after_check(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return ""


def device_check(request: HttpRequest) -> HttpResponse:
    # A patient who came through their personal link has no account to log in
    # with: the check is open to them too.
    if not request.user.is_authenticated and not request.session.get(PATIENT_LINKS):
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    return render(
        request,
        "teleconsult/device_check.html",
        {"form": SupportTicketForm(), "next": _waiting_room_after_check(request)},
    )


@login_required
@require_POST
def ask_for_help(request: HttpRequest) -> HttpResponse:
    form = SupportTicketForm(request.POST)
    if not form.is_valid():
        return render(
            request, "teleconsult/device_check.html", {"form": form}, status=400
        )
    try:
        services.open_support_ticket(
            user=cast(User, request.user),
            check_results=form.cleaned_data["check_results"],
            message=form.cleaned_data["message"],
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ValidationError as error:
        form.add_error(None, error)
        return render(
            request, "teleconsult/device_check.html", {"form": form}, status=400
        )
    messages.success(
        request,
        _("Your request has been sent: a concierge will call you back shortly."),
    )
    return redirect("teleconsult:device-check")


# --- Helpers -------------------------------------------------------------------------


def _session(public_id) -> TeleconsultationSession:
    return get_object_or_404(
        TeleconsultationSession.objects.select_related(
            "appointment__patient",
            "appointment__practitioner",
            "appointment__specialty",
        ),
        public_id=public_id,
    )


def _granted(request: HttpRequest, key: str, session: TeleconsultationSession) -> bool:
    return str(session.public_id) in request.session.get(key, [])


def _grant(request: HttpRequest, key: str, session: TeleconsultationSession) -> None:
    granted = [value for value in request.session.get(key, []) if value]
    if str(session.public_id) not in granted:
        granted.append(str(session.public_id))
    request.session[key] = granted[-20:]


def visitor_for(
    request: HttpRequest, session: TeleconsultationSession
) -> sessions.Visitor | None:
    """The visitor's part in this session, or None (the page then answers 404)."""
    user = request.user
    appointment = session.appointment
    if sessions.is_session_practitioner(user, appointment):
        return sessions.practitioner_visitor(user, appointment, via="account")
    if _granted(request, PRACTITIONER_PASSES, session):
        return sessions.practitioner_visitor(None, appointment, via="pass")
    if sessions.manages_patient(user, appointment):
        return sessions.patient_visitor(user, appointment, via="portal")
    # A personal link stands for its patient only while nobody is signed in: an
    # account opened since in this browser is judged as itself.
    if not user.is_authenticated and _granted(request, PATIENT_LINKS, session):
        return sessions.patient_visitor(None, appointment, via="link")
    return None


def _visitor_or_404(request, session) -> sessions.Visitor:
    visitor = visitor_for(request, session)
    if visitor is None:
        raise Http404
    # The console's JSON, documents and fallback need the second factor too.
    if visitor.via == "account" and _mfa_redirect(request, quiet=True) is not None:
        raise PermissionDenied
    return visitor


def _mfa_redirect(request: HttpRequest, *, quiet: bool = False) -> HttpResponse | None:
    """Practitioners with an account must use their authenticator app (TOTP)."""
    from allauth.account.authentication import get_authentication_records
    from allauth.mfa.models import Authenticator

    user = request.user
    has_totp = Authenticator.objects.filter(
        user=user, type=Authenticator.Type.TOTP
    ).exists()
    if not has_totp:
        if quiet:
            return redirect(reverse("mfa_activate_totp"))
        messages.info(
            request,
            _(
                "Practitioners protect their account with an authenticator app: "
                "set it up, then open the teleconsultation again."
            ),
        )
        return redirect(reverse("mfa_activate_totp"))
    records = get_authentication_records(request, user)
    if not any(record.get("method") == "mfa" for record in records):
        return redirect(
            f"{reverse('mfa_reauthenticate')}?next={request.get_full_path()}"
        )
    return None


REFUSAL_PAGES = {
    sessions.TOO_EARLY: (
        403,
        gettext_lazy("The teleconsultation room is not open yet"),
        gettext_lazy(
            "Come back from %(at)s: the room opens %(minutes)s minutes before "
            "the start."
        ),
    ),
    sessions.CLOSED: (
        410,
        gettext_lazy("This teleconsultation is over"),
        gettext_lazy(
            "The room is closed. If you missed your appointment, book another one "
            "from your appointments page or call us."
        ),
    ),
    sessions.NOT_JOINABLE: (
        410,
        gettext_lazy("This appointment is no longer on"),
        gettext_lazy(
            "It was cancelled or moved: your appointments page shows the new time "
            "and its own link."
        ),
    ),
    sessions.WRONG_PERSON: (
        403,
        gettext_lazy("This link was made for someone else"),
        gettext_lazy(
            "A teleconsultation link works only for the patient it was sent to. "
            "Sign out, or open your own link."
        ),
    ),
    sessions.EXPIRED_LINK: (
        410,
        gettext_lazy("This link has expired"),
        gettext_lazy("Join from your appointments page, or ask us for a new link."),
    ),
    sessions.BAD_LINK: (
        404,
        gettext_lazy("This link is not valid"),
        gettext_lazy("Check that you copied the whole address from the message."),
    ),
    sessions.SPENT_LINK: (
        410,
        gettext_lazy("This link has already been used"),
        gettext_lazy(
            "A practitioner link works once. Ask the concierge for a new one if "
            "you need to come back."
        ),
    ),
}


def _refused_page(
    request: HttpRequest, reason: str, *, at: datetime | None = None
) -> HttpResponse:
    status, title, explanation = REFUSAL_PAGES[reason]
    from django.conf import settings

    text = str(explanation)
    if at is not None:
        text = text % {
            "at": timezone.localtime(at).strftime("%H:%M"),
            "minutes": settings.VIDEO_JOIN_OPENS_MINUTES,
        }
    return render(
        request,
        "teleconsult/refused.html",
        {"title": title, "explanation": text, "reason": reason, "come_back_at": at},
        status=status,
    )


def _refuse(
    request: HttpRequest,
    session: TeleconsultationSession | None,
    reason: str,
    *,
    at: datetime | None = None,
) -> HttpResponse:
    sessions.refuse(session=session, reason=reason, user=request.user, request=request)
    return _refused_page(request, reason, at=at)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _video_reachable() -> bool:
    return bool(
        cache.get_or_set(
            "teleconsult:video-reachable",
            sessions.video_reachable,
            REACHABLE_CACHE_SECONDS,
        )
    )


def _documents(session: TeleconsultationSession) -> list[dict]:
    rows = session.shared_documents.select_related("document").order_by("shared_at")
    return [
        {
            "id": str(row.document_id),
            "title": row.document.title,
            "side": row.side,
            "side_label": str(row.get_side_display()),
            "shared_at": timezone.localtime(row.shared_at).strftime("%H:%M"),
            "url": reverse(
                "teleconsult:document",
                kwargs={
                    "public_id": session.public_id,
                    "document_id": row.document_id,
                },
            ),
        }
        for row in rows
    ]


def _eligibility_messages(session: TeleconsultationSession) -> list[str]:
    return [eligibility.message_for(code) for code in session.eligibility_reasons]


# --- Entering ------------------------------------------------------------------------


@login_required
def appointment_entry(request: HttpRequest, public_id) -> HttpResponse:
    """From the appointment page: the session of a video appointment."""
    appointment = get_object_or_404(
        Appointment.objects.visible_to(request.user).select_related(
            "patient", "practitioner"
        ),
        public_id=public_id,
        mode=Appointment.Mode.VIDEO,
    )
    session = sessions.ensure_session(appointment=appointment)
    if sessions.is_session_practitioner(request.user, appointment):
        return redirect("teleconsult:console", public_id=session.public_id)
    return redirect(session)


@never_cache
def patient_link(request: HttpRequest, token: str) -> HttpResponse:
    """The personal link of a message: for its patient, its session, its window."""
    try:
        read = links.read_patient_token(token)
    except links.ExpiredLink:
        return _refuse(
            request,
            _session_of_token(token),
            sessions.EXPIRED_LINK,
        )
    except links.BadLink:
        return _refused_page(request, sessions.BAD_LINK)
    appointment = (
        Appointment.objects.select_related("patient", "practitioner")
        .filter(
            public_id=read.appointment_id,
            patient__reference=read.patient_reference,
            mode=Appointment.Mode.VIDEO,
        )
        .first()
    )
    if appointment is None:
        return _refused_page(request, sessions.BAD_LINK)
    session = sessions.ensure_session(appointment=appointment)
    user = request.user
    if user.is_authenticated and not (
        sessions.manages_patient(user, appointment)
        or sessions.is_session_practitioner(user, appointment)
    ):
        return _refuse(request, session, sessions.WRONG_PERSON)
    try:
        sessions.check_window(session)
    except sessions.Refused as refusal:
        return _refuse(request, session, refusal.reason, at=refusal.at)
    _grant(request, PATIENT_LINKS, session)
    return redirect(session)


def _session_of_token(token: str) -> TeleconsultationSession | None:
    """The session an expired (but genuine) link names, to log the attempt."""
    appointment_id = links.appointment_of_expired_token(token)
    if appointment_id is None:
        return None
    return (
        TeleconsultationSession.objects.select_related("appointment__patient")
        .filter(appointment__public_id=appointment_id)
        .first()
    )


def _enter(
    request: HttpRequest, session: TeleconsultationSession, visitor
) -> HttpResponse | None:
    """Check the window and record the entry; a refusal page if outside it."""
    try:
        sessions.record_join(session=session, visitor=visitor, request=request)
    except sessions.Refused as refusal:
        return _refuse(request, session, refusal.reason, at=refusal.at)
    return None


@never_cache
def waiting_room(request: HttpRequest, public_id) -> HttpResponse:
    session = _session(public_id)
    visitor = visitor_for(request, session)
    if visitor is None:
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        raise Http404
    if visitor.is_practitioner:
        return redirect("teleconsult:console", public_id=session.public_id)
    refused = _enter(request, session, visitor)
    if refused is not None:
        return refused
    return render(
        request,
        "teleconsult/waiting_room.html",
        {
            "session": session,
            "appointment": session.appointment,
            "visitor": visitor,
            "reachable": _video_reachable(),
            "documents": _documents(session),
            "eligibility_messages": _eligibility_messages(session),
            "share_form": ShareDocumentForm(),
            "video_domain": _video_domain(),
        },
    )


def _video_domain() -> str:
    from django.conf import settings

    return settings.VIDEO_DOMAIN


def _status_payload(
    session: TeleconsultationSession, visitor: sessions.Visitor
) -> dict:
    now = timezone.now()
    status = sessions.practitioner_status(session, now=now)
    payload: dict = {
        "state": session.state,
        "state_label": str(session.get_state_display()),
        "position": sessions.queue_position(session, now=now),
        "practitioner_status": status,
        "practitioner_status_label": str(
            TeleconsultationSession.PractitionerStatus(status).label
        ),
        "admitted": session.patient_admitted,
        "patient_present": sessions.is_present(session.patient_seen_at, now),
        "documents": _documents(session),
        "video": None,
    }
    show_video = visitor.is_practitioner or session.state == session.State.IN_PROGRESS
    if show_video and session.is_open:
        info = sessions.video_join(session, visitor=visitor)
        payload["video"] = {
            "domain": info.domain,
            "room": info.room,
            "jwt": info.token,
        }
    return payload


@never_cache
@require_GET
def status(request: HttpRequest, public_id) -> JsonResponse:
    """What the waiting room and the console poll: state, position, presence."""
    session = _session(public_id)
    visitor = _visitor_or_404(request, session)
    if session.is_open:
        sessions.heartbeat(session=session, visitor=visitor)
    return JsonResponse(_status_payload(session, visitor))


# --- Documents and the phone fallback -----------------------------------------------


@require_POST
def share(request: HttpRequest, public_id) -> HttpResponse:
    session = _session(public_id)
    visitor = _visitor_or_404(request, session)
    form = ShareDocumentForm(request.POST, request.FILES)
    error_text = ""
    if form.is_valid():
        try:
            sessions.share_document(
                session=session,
                by=visitor,
                upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                request=request,
            )
        except ValidationError as error:
            error_text = " ".join(error.messages)
    else:
        error_text = " ".join(
            str(message) for errors in form.errors.values() for message in errors
        )
    if _wants_json(request):
        if error_text:
            return JsonResponse({"error": error_text}, status=400)
        return JsonResponse({"documents": _documents(session)}, status=201)
    if error_text:
        messages.error(request, error_text)
    else:
        messages.success(request, _("The document is shared and saved in the file."))
    target = (
        "teleconsult:console" if visitor.is_practitioner else "teleconsult:waiting-room"
    )
    return redirect(target, public_id=session.public_id)


@never_cache
@require_GET
def document(request: HttpRequest, public_id, document_id) -> HttpResponse:
    session = _session(public_id)
    visitor = _visitor_or_404(request, session)
    shared = get_object_or_404(
        SharedDocument.objects.select_related("document__patient"),
        session=session,
        document_id=document_id,
    )
    try:
        sessions.check_window(session)
    except sessions.Refused as refusal:
        return _refuse(request, session, refusal.reason, at=refusal.at)
    document, data = sessions.open_shared_document(
        session=session, shared=shared, by=visitor, request=request
    )
    from patients.services import document_filename

    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{document_filename(document)}"'
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
def phone_fallback(request: HttpRequest, public_id) -> HttpResponse:
    session = _session(public_id)
    visitor = _visitor_or_404(request, session)
    sessions.request_phone_fallback(session=session, by=visitor, request=request)
    text = _(
        "A concierge will call the patient on their phone in the next few minutes."
    )
    if _wants_json(request):
        return JsonResponse({"message": text}, status=201)
    messages.success(request, text)
    target = (
        "teleconsult:console" if visitor.is_practitioner else "teleconsult:waiting-room"
    )
    return redirect(target, public_id=session.public_id)


# --- The practitioner's console -----------------------------------------------------


def _practitioner_or_refuse(
    request: HttpRequest, session: TeleconsultationSession
) -> sessions.Visitor | HttpResponse:
    visitor = visitor_for(request, session)
    if visitor is None or not visitor.is_practitioner:
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        raise Http404
    if visitor.via == "account":
        needs_mfa = _mfa_redirect(request)
        if needs_mfa is not None:
            return needs_mfa
    return visitor


@never_cache
def console(request: HttpRequest, public_id) -> HttpResponse:
    session = _session(public_id)
    visitor = _practitioner_or_refuse(request, session)
    if isinstance(visitor, HttpResponse):
        return visitor
    refused = _enter(request, session, visitor)
    if refused is not None:
        return refused
    session.refresh_from_db()
    appointment = session.appointment
    return render(
        request,
        "teleconsult/console.html",
        {
            "session": session,
            "appointment": appointment,
            "patient": appointment.patient,
            "visitor": visitor,
            "reachable": _video_reachable(),
            "documents": _documents(session),
            "eligibility_messages": _eligibility_messages(session),
            "share_form": ShareDocumentForm(),
            "notes_form": NotesForm(
                initial={
                    "report": session.report_draft,
                    "prescription": session.prescription_draft,
                }
            ),
            "video_domain": _video_domain(),
            "events": session.events.order_by("at")[:50],
        },
    )


def _console_action(request: HttpRequest, public_id, action) -> HttpResponse:
    session = _session(public_id)
    visitor = _practitioner_or_refuse(request, session)
    if isinstance(visitor, HttpResponse):
        return visitor
    try:
        text = action(session, visitor)
    except sessions.Refused as refusal:
        return _refuse(request, session, refusal.reason, at=refusal.at)
    except ValidationError as error:
        if _wants_json(request):
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        messages.error(request, " ".join(error.messages))
    except PermissionDenied:
        raise
    else:
        if _wants_json(request):
            session.refresh_from_db()
            return JsonResponse(
                {"message": text, **_status_payload(session, visitor)}, status=200
            )
        messages.success(request, text)
    return redirect("teleconsult:console", public_id=session.public_id)


@require_POST
def admit(request: HttpRequest, public_id) -> HttpResponse:
    def act(session, visitor):
        sessions.admit_patient(session=session, by=visitor)
        return _("The patient is admitted: the video opens on their side.")

    return _console_action(request, public_id, act)


@require_POST
def end(request: HttpRequest, public_id) -> HttpResponse:
    def act(session, visitor):
        sessions.end_session(session=session, by=visitor, request=request)
        return _("The teleconsultation is over; the appointment is marked done.")

    return _console_action(request, public_id, act)


@require_POST
def no_show(request: HttpRequest, public_id) -> HttpResponse:
    def act(session, visitor):
        sessions.record_no_show(session=session, by=visitor)
        return _("The patient is recorded as absent.")

    return _console_action(request, public_id, act)


@require_POST
def notes(request: HttpRequest, public_id) -> HttpResponse:
    form = NotesForm(request.POST)

    def act(session, visitor):
        if not form.is_valid():
            raise ValidationError(
                " ".join(str(m) for errors in form.errors.values() for m in errors),
                code="invalid",
            )
        sessions.save_notes(
            session=session,
            by=visitor,
            report=form.cleaned_data["report"],
            prescription=form.cleaned_data["prescription"],
            request=request,
        )
        if session.state == session.State.ENDED:
            return _("The report and prescription are saved in the patient's file.")
        return _(
            "Saved. They are filed in the patient's file when you end the session."
        )

    return _console_action(request, public_id, act)


# --- A practitioner without an account ----------------------------------------------


@never_cache
def practitioner_link(request: HttpRequest, token: str) -> HttpResponse:
    """Single-use link: choose where the one-time code goes, enter it, enter."""
    try:
        practitioner_pass = sessions.find_pass(token)
    except links.ExpiredLink:
        return _refused_page(request, sessions.EXPIRED_LINK)
    except links.BadLink:
        return _refused_page(request, sessions.BAD_LINK)
    session = practitioner_pass.session
    if _granted(request, PRACTITIONER_PASSES, session):
        return redirect("teleconsult:console", public_id=session.public_id)
    if practitioner_pass.is_spent:
        return _refuse(request, session, sessions.SPENT_LINK)
    try:
        sessions.check_window(session)
    except sessions.Refused as refusal:
        return _refuse(request, session, refusal.reason, at=refusal.at)
    channels = sessions.code_channels(practitioner_pass)
    form = CodeForm()
    status_code = 200
    if request.method == "POST":
        if "send" in request.POST:
            channel = request.POST.get("send", "")
            if channel not in channels:
                raise Http404
            try:
                sessions.send_pass_code(
                    practitioner_pass=practitioner_pass, channel=channel
                )
            except sessions.Refused as refusal:
                return _refuse(request, session, refusal.reason, at=refusal.at)
            except ValidationError as error:
                form.add_error(None, error)
                status_code = 400
            else:
                messages.success(
                    request,
                    _("A code has been sent to %(where)s.")
                    % {"where": channels[channel]},
                )
                return redirect(request.path)
        else:
            form = CodeForm(request.POST)
            if form.is_valid():
                try:
                    sessions.redeem_pass(
                        practitioner_pass=practitioner_pass,
                        code=form.cleaned_data["code"],
                    )
                except sessions.Refused as refusal:
                    return _refuse(request, session, refusal.reason, at=refusal.at)
                except ValidationError as error:
                    form.add_error("code", error)
                    status_code = 400
                else:
                    # A new session key: the browser that entered the code is
                    # the only one the console opens for.
                    request.session.cycle_key()
                    _grant(request, PRACTITIONER_PASSES, session)
                    return redirect("teleconsult:console", public_id=session.public_id)
            else:
                status_code = 400
    practitioner_pass.refresh_from_db()
    return render(
        request,
        "teleconsult/practitioner_link.html",
        {
            "session": session,
            "appointment": session.appointment,
            "channels": channels,
            "code_sent": practitioner_pass.code_sent_at is not None,
            "form": form,
            "channel_labels": dict(PractitionerPass.Channel.choices),
        },
        status=status_code,
    )
