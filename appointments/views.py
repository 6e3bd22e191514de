"""The portal's appointments: pick a proposed slot, book from the directory, see,
confirm, cancel or move an appointment, join the waitlist, add to a calendar,
prepare the visit; and the pages behind the signed links of messages (one-click
confirm or cancel, waitlist offers, the practitioner's pre-consultation file and
report upload, the pharmacy's prescription).

Every write goes through appointments.services; another user's appointment
answers 404; a bad, expired or foreign link answers a plain refusal page.
"""

from datetime import timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from conciergerie.accounts.models import User
from patients import viewing
from patients.models import Document, Patient
from specialists.models import ConsultationType, Practitioner

from . import access, availability, calendar, checklists, links, rules, services
from .forms import (
    ChecklistForm,
    PatientChoiceForm,
    PharmacyChoiceForm,
    PharmacyForm,
    PrescriptionForm,
    ReasonForm,
    ReportUploadForm,
    RescheduleForm,
    ShareForm,
    WaitlistForm,
)
from .models import (
    Appointment,
    CalendarFeed,
    Face,
    PharmacyChoice,
    PreConsultationShare,
    PrescriptionTransmission,
    ReportRequest,
    SlotProposal,
    WaitlistEntry,
    WaitlistOffer,
)

RESCHEDULE_DAYS = 21
SLOTS_PER_DAY = 8
REFUSALS = {
    services.visit.EXPIRED: (
        410,
        _("This link has expired."),
        _(
            "Links to health data only work for a short time. Ask the concierge for "
            "a new one if you still need it."
        ),
    ),
    services.visit.REVOKED: (
        410,
        _("This link has been withdrawn."),
        _("The patient or the concierge has stopped this sharing."),
    ),
    services.visit.FOREIGN: (
        403,
        _("This link was made for someone else."),
        _(
            "It only opens for the practitioner it was sent to, signed in with their "
            "own account if they have one."
        ),
    ),
    services.visit.INVALID: (
        404,
        _("This link is not valid."),
        _("Check that you copied the whole address from the message."),
    ),
}


def refusal(request: HttpRequest, reason: str) -> HttpResponse:
    status, title, explanation = REFUSALS[reason]
    return render(
        request,
        "appointments/refused.html",
        {"title": title, "explanation": explanation},
        status=status,
    )


def _read(purpose: str, token: str) -> links.Token | str:
    try:
        return links.read_token(purpose, token)
    except links.ExpiredLink:
        return services.visit.EXPIRED
    except links.BadLink:
        return services.visit.INVALID


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _visible(request: HttpRequest, public_id) -> Appointment:
    return get_object_or_404(
        Appointment.objects.visible_to(request.user).select_related(
            "practitioner", "patient", "place", "specialty"
        ),
        public_id=public_id,
    )


def _managed_appointment(request: HttpRequest, public_id) -> Appointment:
    """An appointment of a file this account manages (patient or guardian)."""
    return get_object_or_404(
        Appointment.objects.filter(
            patient__in=Patient.objects.managed_by(request.user)
        ).select_related("practitioner", "patient", "place", "specialty"),
        public_id=public_id,
    )


# --- The list and one appointment --------------------------------------------------


@login_required
@never_cache
def index(request: HttpRequest) -> HttpResponse:
    if access.is_back_office(request.user):
        return redirect("admin:appointments_appointment_changelist")
    user = cast(User, request.user)
    if user.has_role("practitioner") and not Patient.objects.managed_by(user).exists():
        return redirect("appointments:practitioner")
    now = timezone.now()
    viewed = viewing.current_patient(request)
    files = (
        [viewed]
        if viewed is not None
        else list(Patient.objects.managed_by(request.user).order_by("first_names"))
    )
    rows = (
        Appointment.objects.filter(patient__in=files)
        .exclude(state__in=[Appointment.State.EXPIRED, Appointment.State.RESCHEDULED])
        .select_related("practitioner", "patient", "place")
    )
    upcoming = rows.filter(
        state__in=[
            Appointment.State.HELD,
            Appointment.State.BOOKED,
            Appointment.State.CONFIRMED,
        ],
        ends_at__gt=now,
    ).order_by("starts_at")
    past = rows.exclude(pk__in=upcoming.values("pk")).order_by("-starts_at")[:30]
    proposals = (
        SlotProposal.objects.visible_to(request.user)
        .open()
        .filter(patient__in=files)
        .select_related("patient")
    )
    waitlist = (
        WaitlistEntry.objects.visible_to(request.user)
        .waiting()
        .filter(patient__in=files)
        .select_related("practitioner", "patient")
    )
    feeds = {
        feed.patient_id: services.feed_url(feed)
        for feed in CalendarFeed.objects.active().filter(patient__in=files)
    }
    return render(
        request,
        "appointments/index.html",
        {
            "upcoming": upcoming,
            "past": past,
            "proposals": proposals,
            "waitlist": waitlist,
            "files": [(patient, feeds.get(patient.pk)) for patient in files],
        },
    )


def _reschedule_slots(appointment: Appointment):
    """Free slots to move to: a few a day over three weeks, not only the first."""
    now = timezone.now()
    per_day: dict = {}
    for slot in availability.compute(
        appointment.practitioner_id,
        kind=appointment.consultation_kind,
        start=now,
        end=now + timedelta(days=RESCHEDULE_DAYS),
        now=now,
    ):
        if slot.starts_at == appointment.starts_at:
            continue
        day = per_day.setdefault(timezone.localtime(slot.starts_at).date(), [])
        if len(day) < SLOTS_PER_DAY:
            day.append(slot)
    return [slot for day in sorted(per_day) for slot in per_day[day]]


@login_required
@never_cache
def detail(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _visible(request, public_id)
    viewing.show(request, appointment.patient)
    now = timezone.now()
    manages = access.manages(request.user, appointment.patient)
    context = {
        "appointment": appointment,
        "manages": manages,
        "late_cancel": rules.is_inside_notice(
            kind=appointment.consultation_kind,
            starts_at=appointment.starts_at,
            action="cancel",
            now=now,
        ),
        "can_move_online": not rules.is_inside_notice(
            kind=appointment.consultation_kind,
            starts_at=appointment.starts_at,
            action="reschedule",
            now=now,
        ),
        "cancel_form": ReasonForm(),
        "waitlist_form": WaitlistForm(),
        "events": appointment.events.order_by("created_at"),
    }
    if manages and appointment.is_upcoming:
        context["reschedule_form"] = RescheduleForm(
            slots=_reschedule_slots(appointment)
        )
        context["waiting"] = (
            WaitlistEntry.objects.waiting().filter(appointment=appointment).first()
        )
        context["share_form"] = ShareForm(
            documents=Document.objects.filter(patient=appointment.patient)
        )
        context["shares"] = appointment.pre_consultation_shares.order_by("-created_at")
    if manages and appointment.state == Appointment.State.DONE:
        prescriptions = Document.objects.filter(
            patient=appointment.patient, kind=Document.Kind.PRESCRIPTION
        )
        context["prescription_form"] = PrescriptionForm(documents=prescriptions)
        context["has_prescriptions"] = prescriptions.exists()
        context["pharmacy"] = PharmacyChoice.objects.filter(
            patient=appointment.patient
        ).first()
        context["transmissions"] = PrescriptionTransmission.objects.filter(
            appointment=appointment
        ).select_related("pharmacy")
    return render(request, "appointments/detail.html", context)


def _act(request, appointment, action, **kwargs):
    """Run a service for the detail page's buttons; errors become messages."""
    try:
        result = action(appointment=appointment, by=request.user, **kwargs)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return None
    return result


@login_required
@require_POST
def confirm(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _managed_appointment(request, public_id)
    if _act(request, appointment, services.confirm_appointment, via=Face.PORTAL):
        messages.success(request, _("Thank you: your presence is confirmed."))
    return redirect(appointment)


@login_required
@require_POST
def cancel(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _managed_appointment(request, public_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you cancel, in a few words."))
        return redirect(appointment)
    result = _act(
        request,
        appointment,
        services.cancel_appointment,
        via=Face.PORTAL,
        reason=form.cleaned_data["reason"],
    )
    if result is not None:
        messages.success(request, _("Your appointment is cancelled."))
    return redirect(appointment)


@login_required
@require_POST
def reschedule(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _managed_appointment(request, public_id)
    form = RescheduleForm(request.POST, slots=_reschedule_slots(appointment))
    if not form.is_valid():
        messages.error(request, _("Choose a new time and say why you move."))
        return redirect(appointment)
    try:
        new = services.reschedule_appointment(
            appointment=appointment,
            starts_at=form.cleaned_data["starts_at"],
            reason=form.cleaned_data["reason"],
            by=request.user,
            via=Face.PORTAL,
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(appointment)
    messages.success(request, _("Your appointment has moved."))
    return redirect(new)


@login_required
@require_POST
def join_waitlist(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _managed_appointment(request, public_id)
    form = WaitlistForm(request.POST)
    form.is_valid()
    try:
        services.join_waitlist(
            patient=appointment.patient,
            practitioner=appointment.practitioner,
            kind=appointment.consultation_kind,
            appointment=appointment,
            not_after=form.cleaned_not_after() if form.is_valid() else None,
            by=request.user,
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request,
            _("You are on the waitlist: we will write if an earlier slot frees up."),
        )
    return redirect(appointment)


@login_required
@require_POST
def leave_waitlist(request: HttpRequest, public_id) -> HttpResponse:
    entry = get_object_or_404(
        WaitlistEntry.objects.visible_to(request.user), public_id=public_id
    )
    services.leave_waitlist(entry=entry, by=request.user)
    messages.success(request, _("You have left the waitlist."))
    return redirect("appointments:index")


@login_required
@require_GET
def appointment_ics(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _visible(request, public_id)
    return _ics_response(calendar.appointment_ics(appointment), "rendez-vous.ics")


def _ics_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Preparing the visit -----------------------------------------------------------


@login_required
@never_cache
def prepare(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _visible(request, public_id)
    items = checklists.checklist_for(appointment)
    manages = access.manages(request.user, appointment.patient)
    form = ChecklistForm(
        request.POST if request.method == "POST" and manages else None,
        items=items,
        initial={"done": appointment.checklist_done},
    )
    if form.is_bound and form.is_valid():
        services.tick_checklist(
            appointment=appointment, codes=form.cleaned_data["done"], by=request.user
        )
        messages.success(request, _("Your checklist is saved."))
        return redirect("appointments:prepare", public_id=appointment.public_id)
    return render(
        request,
        "appointments/prepare.html",
        {
            "appointment": appointment,
            "items": items,
            "done": set(appointment.checklist_done),
            "form": form,
            "manages": manages,
        },
    )


@login_required
@require_POST
def share(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _managed_appointment(request, public_id)
    form = ShareForm(
        request.POST, documents=Document.objects.filter(patient=appointment.patient)
    )
    if not form.is_valid():
        messages.error(request, _("Tick the consent box and choose what to share."))
        return redirect(appointment)
    try:
        services.share_pre_consultation_file(
            appointment=appointment,
            by=request.user,
            documents=list(form.cleaned_data["documents"]),
            include_summary=form.cleaned_data["include_summary"],
            request=request,
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request,
            _("The practitioner has received a link valid for a short time."),
        )
    return redirect(appointment)


@login_required
@require_POST
def unshare(request: HttpRequest, public_id) -> HttpResponse:
    share_row = get_object_or_404(
        PreConsultationShare.objects.visible_to(request.user), public_id=public_id
    )
    services.revoke_pre_consultation_file(
        share=share_row, by=request.user, request=request
    )
    messages.success(request, _("The link no longer works."))
    return redirect(share_row.appointment)


# --- Booking from the directory, proposals, holds -------------------------------------


@login_required
@never_cache
def book(request: HttpRequest, public_id) -> HttpResponse:
    """A slot of the directory's portal: choose for whom, then hold it."""
    practitioner = get_object_or_404(
        Practitioner.objects.visible_to(request.user), public_id=public_id
    )
    # The directory's links put the offset as is ("+00:00"): a query string
    # reads that "+" as a space.
    raw = (request.GET.get("starts_at", "") or "").strip().replace(" ", "+")
    starts_at = parse_datetime(raw)
    kind = request.GET.get("kind") or ConsultationType.Kind.FIRST_VISIT
    if starts_at is None or timezone.is_naive(starts_at):
        raise Http404
    files = Patient.objects.managed_by(request.user).filter(merged_into__isnull=True)
    if not files.exists():
        messages.info(request, _("Complete your file first: it takes two minutes."))
        return redirect("patients:register")
    form = PatientChoiceForm(
        request.POST or None,
        patients=files,
        initial={"patient": viewing.current_patient(request) or files.first()},
    )
    slot = availability.find_slot(practitioner.pk, kind=kind, starts_at=starts_at)
    if request.method == "POST" and form.is_valid():
        try:
            held = services.book_appointment(
                patient=form.cleaned_data["patient"],
                practitioner=practitioner,
                kind=kind,
                starts_at=starts_at,
                by=request.user,
                via=Face.PORTAL,
                hold=True,
            )
        except services.SlotTaken as error:
            return _taken(request, error, practitioner=practitioner, kind=kind)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect("appointments:hold", public_id=held.public_id)
    return render(
        request,
        "appointments/book.html",
        {
            "practitioner": practitioner,
            "slot": slot,
            "starts_at": starts_at,
            "kind": kind,
            "kind_label": ConsultationType.Kind(kind).label
            if kind in ConsultationType.Kind.values
            else kind,
            "form": form,
        },
    )


def _taken(request, error: services.SlotTaken, *, practitioner, kind) -> HttpResponse:
    return render(
        request,
        "appointments/taken.html",
        {
            "practitioner": practitioner,
            "kind": kind,
            "alternatives": error.alternatives,
            "booking_name": "appointments:book",
        },
        status=409,
    )


@login_required
@never_cache
def hold(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _managed_appointment(request, public_id)
    if request.method == "POST":
        if "release" in request.POST:
            _act(request, appointment, services.release_hold, via=Face.PORTAL)
            return redirect("appointments:index")
        try:
            services.confirm_hold(
                appointment=appointment, by=request.user, via=Face.PORTAL
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return redirect("appointments:index")
        messages.success(
            request, _("Your appointment is booked: a confirmation is on its way.")
        )
        return redirect(appointment)
    if appointment.state != Appointment.State.HELD:
        return redirect(appointment)
    return render(request, "appointments/hold.html", {"appointment": appointment})


def _proposal_page(
    request: HttpRequest, proposal: SlotProposal, *, by, via: str, here: str
) -> HttpResponse:
    """The proposal page of the portal and of the email link (same behaviour)."""
    held = (
        Appointment.objects.filter(
            proposed_slot__proposal=proposal, state=Appointment.State.HELD
        )
        .select_related("practitioner", "place")
        .first()
    )
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "pick":
                slot = get_object_or_404(
                    proposal.slots.all(), pk=request.POST.get("slot")
                )
                services.pick_proposed_slot(proposed_slot=slot, by=by, via=via)
            elif action == "confirm" and held is not None:
                booked = services.confirm_hold(appointment=held, by=by, via=via)
                messages.success(
                    request,
                    _("Your appointment is booked: a confirmation is on its way."),
                )
                if request.user.is_authenticated and access.manages(
                    request.user, proposal.patient
                ):
                    return redirect(booked)
                return redirect(here)
            elif action == "release" and held is not None:
                services.release_hold(appointment=held, by=by, via=via)
        except services.SlotTaken as error:
            messages.error(request, _error_text(error))
        except ValidationError as error:
            messages.error(request, _error_text(error))
        return redirect(here)
    return render(
        request,
        "appointments/proposal.html",
        {
            "proposal": proposal,
            "held": held,
            "slots": services.proposal_slots(proposal),
            "booked": proposal.appointment,
        },
    )


@login_required
@never_cache
def proposal(request: HttpRequest, public_id) -> HttpResponse:
    row = get_object_or_404(
        SlotProposal.objects.visible_to(request.user), public_id=public_id
    )
    return _proposal_page(
        request,
        row,
        by=request.user,
        via=Face.PORTAL,
        here=reverse("appointments:proposal", kwargs={"public_id": public_id}),
    )


@never_cache
def proposal_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the proposal email: works without signing in, for a few days."""
    read = _read(links.Purpose.PROPOSAL, token)
    if isinstance(read, str):
        return refusal(request, read)
    row = SlotProposal.objects.filter(public_id=read.public_id).first()
    if row is None:
        return refusal(request, services.visit.INVALID)
    return _proposal_page(
        request,
        row,
        by=None,
        via=Face.LINK,
        here=reverse("appointments:proposal-link", kwargs={"token": token}),
    )


# --- One-click links of reminders, offers, calendar -----------------------------------


@never_cache
def act(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (c) or cancel (x) from a reminder; GET shows, POST acts."""
    read = _read(links.Purpose.ACTION, token)
    if isinstance(read, str):
        return refusal(request, read)
    appointment = (
        Appointment.objects.select_related("practitioner", "place", "patient")
        .filter(public_id=read.public_id)
        .first()
    )
    if appointment is None or read.action not in ("c", "x"):
        return refusal(request, services.visit.INVALID)
    now = timezone.now()
    form = ReasonForm(request.POST or None)
    done = None
    if request.method == "POST":
        try:
            if read.action == "c":
                services.confirm_appointment(
                    appointment=appointment, by=None, via=Face.LINK
                )
                done = "confirmed"
            elif form.is_valid():
                services.cancel_appointment(
                    appointment=appointment,
                    by=None,
                    via=Face.LINK,
                    reason=form.cleaned_data["reason"],
                )
                done = "cancelled"
        except ValidationError as error:
            _apply_errors(form, error)
        appointment.refresh_from_db()
    return render(
        request,
        "appointments/act.html",
        {
            "appointment": appointment,
            "action": read.action,
            "form": form,
            "done": done,
            "late": rules.is_inside_notice(
                kind=appointment.consultation_kind,
                starts_at=appointment.starts_at,
                action="cancel",
                now=now,
            ),
            "open": appointment.is_upcoming and appointment.starts_at > now,
        },
    )


@never_cache
def offer(request: HttpRequest, token: str) -> HttpResponse:
    read = _read(links.Purpose.OFFER, token)
    if isinstance(read, str):
        return refusal(request, read)
    row = (
        WaitlistOffer.objects.select_related(
            "entry__practitioner", "entry__patient", "place"
        )
        .filter(public_id=read.public_id)
        .first()
    )
    if row is None:
        return refusal(request, services.visit.INVALID)
    context: dict[str, Any] = {"offer": row, "taken": None, "appointment": None}
    if request.method == "POST":
        try:
            context["appointment"] = services.accept_offer(
                offer=row, by=None, via=Face.LINK
            )
        except services.SlotTaken as error:
            context["taken"] = error
        except ValidationError as error:
            messages.error(request, _error_text(error))
        row.refresh_from_db()
    return render(request, "appointments/offer.html", context)


@require_GET
def ics_link(request: HttpRequest, token: str) -> HttpResponse:
    read = _read(links.Purpose.ICS, token)
    if isinstance(read, str):
        return refusal(request, read)
    appointment = (
        Appointment.objects.select_related("practitioner", "place", "patient")
        .filter(public_id=read.public_id)
        .first()
    )
    if appointment is None:
        return refusal(request, services.visit.INVALID)
    return _ics_response(calendar.appointment_ics(appointment), "rendez-vous.ics")


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A private calendar feed: the token in the URL is the only key."""
    read = _read(links.Purpose.FEED, token.removesuffix(".ics"))
    if isinstance(read, str):
        return refusal(request, read)
    row = (
        CalendarFeed.objects.active()
        .select_related("patient", "practitioner")
        .filter(public_id=read.public_id)
        .first()
    )
    if row is None:
        return refusal(request, services.visit.REVOKED)
    CalendarFeed.objects.filter(pk=row.pk).update(last_fetched_at=timezone.now())
    if row.patient is not None:
        content = calendar.feed_ics(
            calendar.feed_appointments(patient=row.patient),
            audience=calendar.PATIENT,
            name=_("My appointments"),
            language=row.patient.preferred_language or "fr",
        )
    else:
        content = calendar.feed_ics(
            calendar.feed_appointments(practitioner=row.practitioner),
            audience=calendar.PRACTITIONER,
            name=_("Conciergerie appointments"),
            language="fr",
        )
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_POST
def feed_manage(request: HttpRequest, reference: str) -> HttpResponse:
    """Create the patient's calendar URL, or replace it (the old one dies)."""
    patient = get_object_or_404(
        Patient.objects.managed_by(request.user), reference=reference
    )
    with transaction.atomic():
        current = CalendarFeed.objects.active().filter(patient=patient).first()
        if current is not None and "revoke" in request.POST:
            services.revoke_feed(feed=current, by=request.user)
            messages.success(request, _("The old address no longer works."))
        services.calendar_feed(patient=patient, by=request.user)
    return redirect("appointments:index")


# --- The practitioner's side ----------------------------------------------------------


def _practitioner_of(user) -> Practitioner:
    practitioner = Practitioner.objects.filter(user=user).first() if user else None
    if practitioner is None:
        raise Http404
    return practitioner


@login_required
@never_cache
def practitioner_agenda(request: HttpRequest) -> HttpResponse:
    """A practitioner with an account: their appointments booked through us."""
    practitioner = _practitioner_of(request.user)
    now = timezone.now()
    rows = (
        Appointment.objects.filter(practitioner=practitioner)
        .exclude(
            state__in=[
                Appointment.State.EXPIRED,
                Appointment.State.RESCHEDULED,
                Appointment.State.HELD,
            ]
        )
        .select_related("patient", "place")
    )
    if request.method == "POST":
        appointment = get_object_or_404(rows, public_id=request.POST.get("appointment"))
        action = {
            "done": services.mark_done,
            "no_show": services.record_no_show,
        }.get(request.POST.get("action", ""))
        if action is None:
            raise Http404
        if _act(request, appointment, action, via=Face.PRACTITIONER) is not None:
            messages.success(request, _("Recorded."))
        return redirect("appointments:practitioner")
    feed_row = (
        "feed" in request.GET
        and services.calendar_feed(practitioner=practitioner, by=request.user)
    ) or CalendarFeed.objects.active().filter(practitioner=practitioner).first()
    return render(
        request,
        "appointments/practitioner.html",
        {
            "practitioner": practitioner,
            "upcoming": rows.filter(ends_at__gt=now - timedelta(hours=12)).order_by(
                "starts_at"
            )[:100],
            "past": rows.filter(ends_at__lte=now - timedelta(hours=12)).order_by(
                "-starts_at"
            )[:30],
            "missing_reports": [
                (report, services.report_upload_url(report))
                for report in ReportRequest.objects.filter(
                    appointment__practitioner=practitioner, received_at__isnull=True
                ).select_related("appointment__patient")
            ],
            "feed_url": services.feed_url(feed_row) if feed_row else "",
        },
    )


# --- The practitioner's links: pre-consultation file, report --------------------------


def _share_from(request, token: str) -> PreConsultationShare | HttpResponse:
    read = _read(links.Purpose.PRE_CONSULTATION, token)
    if isinstance(read, str):
        return refusal(request, read)
    row = (
        PreConsultationShare.objects.select_related(
            "appointment__patient", "appointment__place", "practitioner"
        )
        .filter(public_id=read.public_id)
        .first()
    )
    if row is None:
        return refusal(request, services.visit.INVALID)
    return row


@never_cache
def pre_consultation(request: HttpRequest, token: str) -> HttpResponse:
    row = _share_from(request, token)
    if isinstance(row, HttpResponse):
        return row
    try:
        row = services.open_pre_consultation_file(
            share=row, user=request.user, request=request
        )
    except services.Refused as refused:
        return refusal(request, refused.reason)
    response = render(
        request,
        "appointments/pre_consultation.html",
        {
            "share": row,
            "appointment": row.appointment,
            "patient": row.appointment.patient,
            "documents": row.documents.all(),
            "token": token,
        },
    )
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
def pre_consultation_summary(request: HttpRequest, token: str) -> HttpResponse:
    row = _share_from(request, token)
    if isinstance(row, HttpResponse):
        return row
    try:
        pdf = services.pre_consultation_summary(
            share=row, user=request.user, request=request
        )
    except services.Refused as refused:
        return refusal(request, refused.reason)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="synthese.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
def pre_consultation_document(
    request: HttpRequest, token: str, document_id
) -> HttpResponse:
    row = _share_from(request, token)
    if isinstance(row, HttpResponse):
        return row
    try:
        document, data = services.pre_consultation_document(
            share=row, document_id=document_id, user=request.user, request=request
        )
    except services.Refused as refused:
        return refusal(request, refused.reason)
    return _document_response(document, data)


def _document_response(document: Document, data: bytes) -> HttpResponse:
    from patients.services import document_filename

    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{document_filename(document)}"'
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
def report_upload(request: HttpRequest, token: str) -> HttpResponse:
    read = _read(links.Purpose.REPORT, token)
    if isinstance(read, str):
        return refusal(request, read)
    report = (
        ReportRequest.objects.select_related(
            "appointment__patient", "appointment__practitioner"
        )
        .filter(public_id=read.public_id)
        .first()
    )
    if report is None:
        return refusal(request, services.visit.INVALID)
    if report.is_received:
        return render(request, "appointments/report_upload.html", {"report": report})
    if not services.report_link_is_open(report):
        return refusal(request, services.visit.EXPIRED)
    practitioner_user = report.appointment.practitioner.user_id
    user = request.user if request.user.is_authenticated else None
    staff = access.is_back_office(user)
    # Uploading reveals nothing of the file: the link is enough, but a signed-in
    # visitor who is neither the practitioner nor the concierge is turned away.
    if user is not None and not staff and user.pk != practitioner_user:
        return refusal(request, services.visit.FOREIGN)
    form = ReportUploadForm(request.POST or None, request.FILES or None)
    if form.is_bound and form.is_valid():
        by = user if user is not None else None
        try:
            services.receive_report(
                report=report, upload=form.cleaned_data["file"], by=by, request=request
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect("appointments:report-upload", token=token)
    return render(
        request, "appointments/report_upload.html", {"report": report, "form": form}
    )


# --- Pharmacy -------------------------------------------------------------------------


@login_required
@never_cache
def pharmacy(request: HttpRequest, reference: str) -> HttpResponse:
    patient = get_object_or_404(
        Patient.objects.managed_by(request.user), reference=reference
    )
    current = (
        PharmacyChoice.objects.filter(patient=patient)
        .select_related("pharmacy")
        .first()
    )
    choose = PharmacyChoiceForm(
        request.POST if "choose" in request.POST else None,
        initial={"pharmacy": current.pharmacy if current else None},
    )
    add = PharmacyForm(request.POST if "add" in request.POST else None)
    chosen = None
    if choose.is_bound and choose.is_valid() and choose.cleaned_data["pharmacy"]:
        chosen = choose.cleaned_data["pharmacy"]
    elif add.is_bound and add.is_valid():
        try:
            chosen = services.add_pharmacy(by=request.user, **add.cleaned_data)
        except ValidationError as error:
            _apply_errors(add, error)
    if chosen is not None:
        services.choose_pharmacy(patient=patient, pharmacy=chosen, by=request.user)
        messages.success(
            request,
            _("Your prescriptions will go to %(name)s.") % {"name": chosen.name},
        )
        return redirect(request.GET.get("next") or reverse("appointments:index"))
    return render(
        request,
        "appointments/pharmacy.html",
        {"patient": patient, "current": current, "choose": choose, "add": add},
    )


@login_required
@require_POST
def send_prescription(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _managed_appointment(request, public_id)
    form = PrescriptionForm(
        request.POST,
        documents=Document.objects.filter(
            patient=appointment.patient, kind=Document.Kind.PRESCRIPTION
        ),
    )
    if form.is_valid():
        try:
            services.send_prescription(
                patient=appointment.patient,
                document=form.cleaned_data["document"],
                appointment=appointment,
                by=request.user,
                request=request,
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(
                request, _("The prescription is on its way to your pharmacy.")
            )
    return redirect(appointment)


@never_cache
def prescription(request: HttpRequest, token: str) -> HttpResponse:
    read = _read(links.Purpose.PRESCRIPTION, token)
    if isinstance(read, str):
        return refusal(request, read)
    transmission = (
        PrescriptionTransmission.objects.select_related(
            "pharmacy", "patient", "document"
        )
        .filter(public_id=read.public_id)
        .first()
    )
    if transmission is None:
        return refusal(request, services.visit.INVALID)
    if request.method != "POST":
        return render(
            request, "appointments/prescription.html", {"transmission": transmission}
        )
    try:
        document, data = services.open_prescription(
            transmission=transmission, request=request
        )
    except services.Refused as refused:
        return refusal(request, refused.reason)
    return _document_response(document, data)
