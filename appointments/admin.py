"""The back-office of appointments.

Concierges read each practitioner's agenda by day or week (bookings and free
slots side by side), book on a patient's behalf, propose slots from a shortlist,
move, cancel, and record that a visit was done or missed. Rows are read-only:
every change goes through appointments.services, like the portal and the API.
"""

from datetime import date, datetime, time, timedelta

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from specialists.availability import PARIS
from specialists.models import Practitioner, Shortlist

from . import availability, services
from .forms import (
    AdminReasonForm,
    AdminRescheduleForm,
    AgendaForm,
    BookOnBehalfForm,
    ProposeForm,
)
from .models import (
    Appointment,
    AppointmentEvent,
    CalendarFeed,
    Face,
    NoShowFlag,
    Pharmacy,
    PharmacyChoice,
    PreConsultationShare,
    PrescriptionTransmission,
    ProposedSlot,
    ReportRequest,
    SlotProposal,
    WaitlistEntry,
    WaitlistOffer,
)

PROPOSE_DAYS = 14
PROPOSE_PER_PRACTITIONER = 8


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _local(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else "—"


class ReadOnlyMixin:
    """Rows change through services only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "by", "via", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = (
        "when",
        "practitioner",
        "patient_link",
        "consultation_kind",
        "mode",
        "state",
        "late",
        "booked_via",
    )
    list_filter = ("state", "mode", "consultation_kind", "booked_via", "late")
    date_hierarchy = "starts_at"
    search_fields = (
        "patient__reference",
        "patient__last_name",
        "practitioner__last_name",
        "=public_id",
    )
    list_select_related = ("practitioner", "patient")
    ordering = ("-starts_at",)
    inlines = [EventInline]
    change_form_template = "appointments/admin/appointment_change_form.html"
    change_list_template = "appointments/admin/appointment_change_list.html"
    actions = [
        "cancel_selected",
        "record_no_shows",
        "mark_done",
        "confirm_selected",
        "share_summary",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("public_id", "state", "late"),
                    ("practitioner", "place", "mode"),
                    ("patient", "care_request"),
                    ("consultation_kind", "specialty"),
                    ("starts_at", "ends_at", "hold_expires_at"),
                    ("booked_by", "booked_via", "booked_at", "confirmed_at"),
                    ("cancelled_at", "cancelled_by", "cancellation_reason"),
                    ("done_at", "no_show_at", "outcome_recorded_by"),
                    ("rescheduled_from", "follows", "proposed_slot"),
                    "concierge_note",
                )
            },
        ),
    )
    readonly_fields = [
        "public_id",
        "state",
        "late",
        "practitioner",
        "place",
        "mode",
        "patient",
        "care_request",
        "consultation_kind",
        "specialty",
        "starts_at",
        "ends_at",
        "hold_expires_at",
        "booked_by",
        "booked_via",
        "booked_at",
        "confirmed_at",
        "cancelled_at",
        "cancelled_by",
        "cancellation_reason",
        "done_at",
        "no_show_at",
        "outcome_recorded_by",
        "rescheduled_from",
        "follows",
        "proposed_slot",
    ]

    @admin.display(description=_("when"), ordering="starts_at")
    def when(self, obj: Appointment) -> str:
        return _local(obj.starts_at)

    @admin.display(description=_("patient"), ordering="patient__last_name")
    def patient_link(self, obj: Appointment):
        flagged = getattr(obj, "_flagged", False)
        return format_html(
            '<a href="{}">{}</a>{}',
            reverse("admin:patients_patient_change", args=[obj.patient_id]),
            obj.patient.reference,
            " ⚠" if flagged else "",
        )

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("appointments.book_appointment")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:appointments_appointment_book"))

    def save_model(self, request, obj, form, change) -> None:
        # Only the concierge's note is editable here; the rest goes through services.
        if change:
            obj.save(update_fields=["concierge_note", "updated_at"])

    # --- Actions ---------------------------------------------------------------------

    def _may(self, request, permission: str) -> bool:
        return request.user.has_perm(f"appointments.{permission}")

    def has_book_permission(self, request) -> bool:
        return self._may(request, "book_appointment")

    def has_outcome_permission(self, request) -> bool:
        return self._may(request, "record_outcome")

    def _each(self, request, queryset, action, done_message, **kwargs) -> None:
        done = 0
        for appointment in queryset:
            try:
                action(
                    appointment=appointment, by=request.user, via=Face.ADMIN, **kwargs
                )
            except ValidationError as error:
                messages.error(request, f"{appointment}: {_error_text(error)}")
            else:
                done += 1
        if done:
            messages.success(request, done_message % {"count": done})

    @admin.action(description=_("Cancel, with a reason"), permissions=["book"])
    def cancel_selected(self, request, queryset):
        form = AdminReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._each(
                request,
                queryset,
                services.cancel_appointment,
                gettext("%(count)s appointment(s) cancelled."),
                reason=form.cleaned_data["reason"],
            )
            return None
        return TemplateResponse(
            request,
            "appointments/admin/reason.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Cancel appointments"),
                "form": form,
                "appointments": queryset,
                "action": "cancel_selected",
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(
        description=_("Record that the patient did not come"), permissions=["outcome"]
    )
    def record_no_shows(self, request, queryset):
        self._each(
            request,
            queryset,
            services.record_no_show,
            gettext("%(count)s no-show(s) recorded."),
        )

    @admin.action(
        description=_("Mark done and ask for the report"), permissions=["outcome"]
    )
    def mark_done(self, request, queryset):
        self._each(
            request,
            queryset,
            services.mark_done,
            gettext("%(count)s appointment(s) marked done."),
        )

    @admin.action(description=_("Confirm the patient's presence"), permissions=["book"])
    def confirm_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            services.confirm_appointment,
            gettext("%(count)s appointment(s) confirmed."),
        )

    def has_share_permission(self, request) -> bool:
        return self._may(request, "add_preconsultationshare")

    @admin.action(
        description=_(
            "Send the medical summary to the practitioner (consent given by phone)"
        ),
        permissions=["share"],
    )
    def share_summary(self, request, queryset):
        shared = 0
        for appointment in queryset:
            try:
                services.share_pre_consultation_file(
                    appointment=appointment,
                    by=request.user,
                    documents=[],
                    include_summary=True,
                    request=request,
                )
            except (ValidationError, PermissionDenied) as error:
                text = (
                    _error_text(error)
                    if isinstance(error, ValidationError)
                    else gettext("Not allowed.")
                )
                messages.error(request, f"{appointment}: {text}")
            else:
                shared += 1
        if shared:
            messages.success(
                request,
                gettext("%(count)s practitioner(s) received the link.")
                % {"count": shared},
            )

    # --- Custom pages -----------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "agenda/",
                view(self.agenda_view),
                name="appointments_appointment_agenda",
            ),
            path("book/", view(self.book_view), name="appointments_appointment_book"),
            path(
                "<int:pk>/reschedule/",
                view(self.reschedule_view),
                name="appointments_appointment_reschedule",
            ),
            path(
                "<int:pk>/cancel/",
                view(self.cancel_view),
                name="appointments_appointment_cancel",
            ),
            *super().get_urls(),
        ]

    def agenda_view(self, request):
        """One practitioner's bookings and free slots, by day or by week."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = AgendaForm(request.GET or None)
        days = []
        practitioner = None
        view = "day"
        start_day = timezone.localdate()
        if form.is_bound and form.is_valid():
            practitioner = form.cleaned_data["practitioner"]
            start_day = form.cleaned_data.get("day") or start_day
            view = form.cleaned_data.get("view") or "day"
            if view == "week":
                start_day -= timedelta(days=start_day.weekday())
            days = self._agenda(practitioner, start_day, 7 if view == "week" else 1)
        step = timedelta(days=7 if view == "week" else 1)
        return TemplateResponse(
            request,
            "appointments/admin/agenda.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Agenda"),
                "form": form,
                "practitioner": practitioner,
                "days": days,
                "view": view,
                "previous_day": (start_day - step).isoformat(),
                "next_day": (start_day + step).isoformat(),
                "opts": self.model._meta,
                "can_book": self.has_book_permission(request),
            },
        )

    def _agenda(self, practitioner: Practitioner, first: date, count: int) -> list:
        start = datetime.combine(first, time.min, tzinfo=PARIS)
        end = datetime.combine(first + timedelta(days=count), time.min, tzinfo=PARIS)
        booked = list(
            Appointment.objects.filter(
                practitioner=practitioner, starts_at__lt=end, ends_at__gt=start
            )
            .exclude(
                state__in=[Appointment.State.EXPIRED, Appointment.State.RESCHEDULED]
            )
            .select_related("patient", "place")
            .order_by("starts_at")
        )
        flagged = set(
            NoShowFlag.objects.raised()
            .filter(patient__in=[a.patient_id for a in booked])
            .values_list("patient_id", flat=True)
        )
        free = availability.compute(practitioner.pk, kind=None, start=start, end=end)
        days = []
        for offset in range(count):
            day = first + timedelta(days=offset)
            rows = [
                ("booking", a.starts_at, a, a.patient_id in flagged)
                for a in booked
                if timezone.localtime(a.starts_at).date() == day
            ] + [
                ("free", slot.starts_at, slot, False)
                for slot in free
                if slot.starts_at.astimezone(PARIS).date() == day
            ]
            rows.sort(key=lambda row: (row[1], row[0]))
            days.append((day, rows))
        return days

    def book_view(self, request):
        """Book on a patient's behalf (after a phone call, or from the agenda)."""
        if not self.has_book_permission(request):
            raise PermissionDenied
        initial = {
            key: request.GET.get(key)
            for key in (
                "patient",
                "practitioner",
                "kind",
                "starts_at",
                "place",
                "care_request",
            )
            if request.GET.get(key)
        }
        follows = None
        if request.GET.get("follows"):
            follows = Appointment.objects.filter(pk=request.GET["follows"]).first()
            if follows is not None:
                initial.setdefault("patient", follows.patient.reference)
                initial.setdefault("practitioner", follows.practitioner_id)
                initial.setdefault("kind", "follow_up")
                if follows.care_request is not None:
                    initial.setdefault("care_request", follows.care_request.reference)
        if "starts_at" in initial:
            parsed = datetime.fromisoformat(initial["starts_at"])
            initial["starts_at"] = timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M")
        form = BookOnBehalfForm(request.POST or None, initial=initial)
        alternatives = []
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            if services.has_raised_no_show_flag(data["patient"]):
                messages.warning(
                    request,
                    gettext(
                        "This patient has missed several appointments: talk it "
                        "through with them."
                    ),
                )
            try:
                appointment = services.book_appointment(
                    patient=data["patient"],
                    practitioner=data["practitioner"],
                    kind=data["kind"],
                    starts_at=data["starts_at"],
                    place=data["place"],
                    follows=follows,
                    care_request=data["care_request"],
                    concierge_note=data["note"],
                    by=request.user,
                    via=Face.ADMIN,
                )
            except services.SlotTaken as error:
                alternatives = error.alternatives
                form.add_error(None, _error_text(error))
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for field, errors in error.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, error)
            else:
                messages.success(
                    request, gettext("Appointment booked; the patient is told.")
                )
                return HttpResponseRedirect(
                    reverse(
                        "admin:appointments_appointment_change", args=[appointment.pk]
                    )
                )
        return TemplateResponse(
            request,
            "appointments/admin/book.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Book on a patient's behalf"),
                "form": form,
                "alternatives": alternatives,
                "follows": follows,
                "opts": self.model._meta,
            },
        )

    def _appointment(self, request, pk) -> Appointment:
        appointment = self.get_queryset(request).filter(pk=pk).first()
        if appointment is None:
            raise PermissionDenied
        return appointment

    def reschedule_view(self, request, pk):
        if not self.has_book_permission(request):
            raise PermissionDenied
        appointment = self._appointment(request, pk)
        form = AdminRescheduleForm(request.POST or None)
        now = timezone.now()
        slots = availability.compute(
            appointment.practitioner_id,
            kind=appointment.consultation_kind,
            start=now,
            end=now + timedelta(days=21),
            now=now,
        )[:60]
        alternatives = []
        if form.is_bound and form.is_valid():
            try:
                new = services.reschedule_appointment(
                    appointment=appointment,
                    starts_at=form.cleaned_data["starts_at"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    via=Face.ADMIN,
                )
            except services.SlotTaken as error:
                alternatives = error.alternatives
                form.add_error(None, _error_text(error))
            except ValidationError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(
                    request, gettext("Appointment moved; the patient is told.")
                )
                return HttpResponseRedirect(
                    reverse("admin:appointments_appointment_change", args=[new.pk])
                )
        return TemplateResponse(
            request,
            "appointments/admin/reschedule.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Move an appointment"),
                "appointment": appointment,
                "form": form,
                "slots": slots,
                "alternatives": alternatives,
                "opts": self.model._meta,
            },
        )

    def cancel_view(self, request, pk):
        if not self.has_book_permission(request):
            raise PermissionDenied
        appointment = self._appointment(request, pk)
        form = AdminReasonForm(request.POST or None)
        if form.is_bound and form.is_valid():
            try:
                services.cancel_appointment(
                    appointment=appointment,
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    via=Face.ADMIN,
                )
            except ValidationError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(
                    request, gettext("Appointment cancelled; the patient is told.")
                )
                return HttpResponseRedirect(
                    reverse("admin:appointments_appointment_change", args=[pk])
                )
        return TemplateResponse(
            request,
            "appointments/admin/cancel.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Cancel an appointment"),
                "appointment": appointment,
                "form": form,
                "opts": self.model._meta,
            },
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        appointment = self.get_queryset(request).filter(pk=object_id).first()
        if appointment is not None:
            extra_context.update(
                {
                    "appointment": appointment,
                    "can_book": self.has_book_permission(request),
                    "flagged": services.has_raised_no_show_flag(appointment.patient),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- Proposals ----------------------------------------------------------------------


class ProposedSlotInline(admin.TabularInline):
    model = ProposedSlot
    extra = 0
    can_delete = False
    fields = ("starts_at", "practitioner", "place", "consultation_kind")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SlotProposal)
class SlotProposalAdmin(admin.ModelAdmin):
    date_hierarchy = "created_at"
    list_display = ("created_at", "patient", "state", "expires_at", "created_by")
    list_filter = ("state",)
    search_fields = ("patient__reference", "patient__last_name")
    list_select_related = ("patient", "created_by")
    inlines = [ProposedSlotInline]
    readonly_fields = (
        "public_id",
        "patient",
        "care_request",
        "shortlist",
        "specialty",
        "state",
        "created_by",
        "expires_at",
        "accepted_at",
        "appointment",
        "message",
    )
    actions = ["withdraw"]
    change_list_template = "appointments/admin/proposal_change_list.html"

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("appointments.add_slotproposal")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:appointments_slotproposal_propose"))

    @admin.action(description=_("Withdraw"), permissions=["change"])
    def withdraw(self, request, queryset):
        for proposal in queryset:
            try:
                services.withdraw_proposal(proposal=proposal, by=request.user)
            except ValidationError as error:
                messages.error(request, f"{proposal}: {_error_text(error)}")

    def get_urls(self):
        return [
            path(
                "propose/",
                self.admin_site.admin_view(self.propose_view),
                name="appointments_slotproposal_propose",
            ),
            *super().get_urls(),
        ]

    def propose_view(self, request):
        """Free slots of a shortlist's practitioners; tick some, send to the patient."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        shortlist = None
        shortlist_id = request.GET.get("shortlist") or request.POST.get("shortlist")
        if shortlist_id:
            shortlist = Shortlist.objects.filter(pk=shortlist_id).first()
        if shortlist is not None:
            practitioners = [
                entry.practitioner
                for entry in shortlist.entries.select_related("practitioner")
            ]
        else:
            ids = request.GET.getlist("practitioner") or request.POST.getlist(
                "practitioner"
            )
            practitioners = list(Practitioner.objects.filter(pk__in=ids))
        kind = request.GET.get("kind") or request.POST.get("kind") or "first_visit"
        now = timezone.now()
        options = []
        for practitioner in practitioners:
            slots = availability.compute(
                practitioner.pk,
                kind=kind,
                start=now,
                end=now + timedelta(days=PROPOSE_DAYS),
                now=now,
            )[:PROPOSE_PER_PRACTITIONER]
            options.append((practitioner, slots))
        form = ProposeForm(
            request.POST or None,
            initial={"patient": request.GET.get("patient", "")},
        )
        if form.is_bound and form.is_valid():
            chosen = []
            by_id = {p.pk: p for p in practitioners}
            for value in request.POST.getlist("slot"):
                practitioner_id, _sep, starts = value.partition("|")
                picked = by_id.get(int(practitioner_id or 0))
                if picked is None:
                    continue
                chosen.append(
                    services.SlotChoice(
                        practitioner=picked,
                        kind=kind,
                        starts_at=datetime.fromisoformat(starts),
                    )
                )
            try:
                proposal = services.propose_slots(
                    patient=form.cleaned_data["patient"],
                    slots=chosen,
                    by=request.user,
                    shortlist=shortlist,
                    specialty=None,
                    message=form.cleaned_data["message"],
                )
            except ValidationError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(
                    request, gettext("Slots proposed; the patient is told.")
                )
                return HttpResponseRedirect(
                    reverse(
                        "admin:appointments_slotproposal_change", args=[proposal.pk]
                    )
                )
        return TemplateResponse(
            request,
            "appointments/admin/propose.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Propose slots to a patient"),
                "form": form,
                "options": options,
                "shortlist": shortlist,
                "shortlists": Shortlist.objects.filter(
                    state=Shortlist.State.PUBLISHED
                ).order_by("-published_at")[:50],
                "kind": kind,
                "opts": self.model._meta,
            },
        )


# --- Waitlist, no-shows, feeds -----------------------------------------------------


class WaitlistOfferInline(admin.TabularInline):
    model = WaitlistOffer
    extra = 0
    can_delete = False
    fields = ("starts_at", "rank", "state", "expires_at", "decided_at", "appointment")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    date_hierarchy = "created_at"
    list_display = (
        "created_at",
        "patient",
        "practitioner",
        "consultation_kind",
        "state",
    )
    list_filter = ("state", "consultation_kind")
    search_fields = ("patient__reference", "practitioner__last_name")
    list_select_related = ("patient", "practitioner")
    inlines = [WaitlistOfferInline]


@admin.register(NoShowFlag)
class NoShowFlagAdmin(admin.ModelAdmin):
    date_hierarchy = "last_no_show_at"
    list_display = (
        "patient",
        "no_shows",
        "last_no_show_at",
        "cleared_at",
        "cleared_by",
    )
    list_filter = (("cleared_at", admin.EmptyFieldListFilter),)
    search_fields = ("patient__reference", "patient__last_name")
    list_select_related = ("patient", "cleared_by")
    readonly_fields = (
        "patient",
        "no_shows",
        "last_no_show_at",
        "cleared_at",
        "cleared_by",
        "note",
    )
    actions = ["clear"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(
        description=_("Clear, after talking with the patient"), permissions=["change"]
    )
    def clear(self, request, queryset):
        for flag in queryset:
            services.clear_no_show_flag(flag=flag, by=request.user)
        messages.success(request, gettext("Flags cleared."))


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_at", "last_fetched_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    readonly_fields = (
        "patient",
        "practitioner",
        "created_by",
        "revoked_at",
        "last_fetched_at",
        "url",
    )
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("address"))
    def url(self, obj: CalendarFeed) -> str:
        return services.feed_url(obj) if obj.revoked_at is None else "—"

    @admin.action(description=_("Revoke the address"), permissions=["change"])
    def revoke(self, request, queryset):
        for feed in queryset:
            services.revoke_feed(feed=feed, by=request.user)
        messages.success(request, gettext("Addresses revoked."))


# --- Before and after the visit -----------------------------------------------------


@admin.register(PreConsultationShare)
class PreConsultationShareAdmin(ReadOnlyMixin, admin.ModelAdmin):
    date_hierarchy = "created_at"
    list_filter = ("include_summary", "consent_channel")
    list_display = (
        "created_at",
        "appointment",
        "practitioner",
        "expires_at",
        "revoked_at",
        "opened_count",
    )
    list_select_related = ("appointment", "practitioner")
    search_fields = ("appointment__patient__reference",)
    exclude = ("documents",)
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("appointments.change_preconsultationshare")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    @admin.action(description=_("Stop the sharing"), permissions=["change"])
    def revoke(self, request, queryset):
        for share in queryset:
            try:
                services.revoke_pre_consultation_file(share=share, by=request.user)
            except PermissionDenied:
                messages.error(request, gettext("You may not stop this sharing."))


@admin.register(ReportRequest)
class ReportRequestAdmin(ReadOnlyMixin, admin.ModelAdmin):
    date_hierarchy = "created_at"
    search_fields = ("=appointment__public_id", "appointment__patient__reference")
    list_display = ("created_at", "appointment", "received_at", "reminders_sent")
    list_filter = (("received_at", admin.EmptyFieldListFilter),)
    list_select_related = ("appointment__practitioner", "appointment__patient")
    readonly_fields = ("upload_link",)
    fields = (
        "appointment",
        "requested_by",
        "received_at",
        "document",
        "reminders_sent",
        "upload_link",
    )

    @admin.display(description=_("upload page"))
    def upload_link(self, obj: ReportRequest):
        if obj.is_received:
            return "—"
        url = services.report_upload_url(obj)
        return format_html('<a href="{}">{}</a>', url, gettext("Upload the report"))

    def get_readonly_fields(self, request, obj=None):
        return [*self.fields]


@admin.register(Pharmacy)
class PharmacyAdmin(admin.ModelAdmin):
    list_display = ("name", "postal_code", "city", "email", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "city", "postal_code", "finess")


@admin.register(PharmacyChoice)
class PharmacyChoiceAdmin(admin.ModelAdmin):
    list_display = ("patient", "pharmacy", "chosen_by", "updated_at")
    search_fields = ("patient__reference", "pharmacy__name")
    raw_id_fields = ("patient", "pharmacy")
    readonly_fields = ("chosen_by",)


@admin.register(PrescriptionTransmission)
class PrescriptionTransmissionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    date_hierarchy = "created_at"
    list_display = (
        "created_at",
        "patient",
        "pharmacy",
        "pharmacy_email",
        "opened_count",
        "expires_at",
    )
    search_fields = ("patient__reference", "pharmacy__name")
    list_select_related = ("patient", "pharmacy")


# Satisfaction surveys have their own module; importing it registers their admin.
from . import surveys_admin  # noqa: E402, F401
