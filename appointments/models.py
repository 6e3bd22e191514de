"""Appointments: booking without double booking, holds, proposals, waitlist, and
what comes before and after a visit.

PostgreSQL keeps the one promise that matters: an exclusion constraint forbids two
active appointments (held, booked or confirmed) of one practitioner whose time
ranges overlap, whatever the number of web workers racing for the same slot.
Public ids are UUIDs; sequential ids never leave the back-office.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    ArrayField,
    DateTimeRangeField,
    RangeBoundary,
    RangeOperators,
)
from django.db import models
from django.db.models import F, Func, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from conciergerie.models import TimeStampedModel
from specialists.models import ConsultationType


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Face(models.TextChoices):
    """Through which face an appointment was booked or changed."""

    PORTAL = "portal", _("patient portal")
    LINK = "link", _("link in a message")
    ADMIN = "admin", _("back-office")
    API = "api", _("partner API")
    PRACTITIONER = "practitioner", _("practitioner")
    SYSTEM = "system", _("automatic")
    SEED = "seed", _("demonstration data")


def _managed_patient_ids(user):
    from patients.models import managed_patient_ids

    return managed_patient_ids(user)


def _is_back_office(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or getattr(user, "is_back_office", False))
    )


# --- Appointments --------------------------------------------------------------------


def _has_started(appointment) -> bool:
    """A transition condition: the outcome of a visit is known once it began."""
    return appointment.starts_at <= timezone.now()


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def visible_to(self, user) -> "AppointmentQuerySet":
        """Staff see every appointment; patients and guardians their files'; a
        practitioner their own agenda; a partner the patients it may see and what it
        booked. Anything else answers 404."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        condition = Q(patient__in=_managed_patient_ids(user)) | Q(
            practitioner__user=user
        )
        if user.has_role("partner"):
            from patients.models import Patient

            condition |= Q(patient__in=Patient.objects.visible_to(user).values("pk"))
            condition |= Q(booked_by=user)
        return self.filter(condition)

    def active(self) -> "AppointmentQuerySet":
        return self.filter(state__in=Appointment.ACTIVE_STATES)

    def live(self, *, now: datetime | None = None) -> "AppointmentQuerySet":
        """Appointments that occupy their slot now: booked, confirmed, or a hold
        that has not expired."""
        now = now or timezone.now()
        # The plain IN lets PostgreSQL use the partial index of active rows.
        return self.filter(state__in=Appointment.ACTIVE_STATES).filter(
            ~Q(state=Appointment.State.HELD) | Q(hold_expires_at__gt=now)
        )

    def upcoming(self, *, now: datetime | None = None) -> "AppointmentQuerySet":
        return self.filter(
            state__in=[Appointment.State.BOOKED, Appointment.State.CONFIRMED],
            ends_at__gt=now or timezone.now(),
        )


class Appointment(FSMModelMixin, TimeStampedModel):
    class State(models.TextChoices):
        HELD = "held", _("Held, awaiting confirmation")
        BOOKED = "booked", _("Booked")
        CONFIRMED = "confirmed", _("Confirmed by the patient")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        LATE_CANCELLED = "late_cancelled", _("Cancelled late")
        NO_SHOW = "no_show", _("Patient did not attend")
        RESCHEDULED = "rescheduled", _("Moved to another time")
        EXPIRED = "expired", _("Hold expired")

    #: States that occupy the practitioner's time (the exclusion constraint's set).
    ACTIVE_STATES = (State.HELD, State.BOOKED, State.CONFIRMED)
    CANCELLED_STATES = (State.CANCELLED, State.LATE_CANCELLED)

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        VIDEO = "video", _("Video consultation")

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    practitioner = models.ForeignKey(
        "specialists.Practitioner",
        models.PROTECT,
        related_name="appointments",
        verbose_name=_("practitioner"),
    )
    place = models.ForeignKey(
        "specialists.PracticePlace",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("place"),
        help_text=_("Empty for a video consultation."),
    )
    mode = models.CharField(
        _("mode"), max_length=12, choices=Mode.choices, default=Mode.IN_PERSON
    )
    patient = models.ForeignKey(
        "patients.Patient",
        models.PROTECT,
        related_name="appointments",
        verbose_name=_("patient"),
    )
    care_request = models.ForeignKey(
        "patients.CareRequest",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("care request"),
    )
    consultation_kind = models.CharField(
        _("consultation type"),
        max_length=20,
        choices=ConsultationType.Kind.choices,
        default=ConsultationType.Kind.FIRST_VISIT,
    )
    specialty = models.ForeignKey(
        "specialists.Specialty",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("specialty"),
        help_text=_("What the visit is for; it chooses the preparation checklist."),
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    state = FSMField(
        _("state"), choices=State.choices, default=State.BOOKED, protected=True
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments_booked",
        verbose_name=_("booked by"),
    )
    booked_via = models.CharField(
        _("booked through"), max_length=16, choices=Face.choices
    )
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    booked_at = models.DateTimeField(_("booked at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled or moved by"),
    )
    cancellation_reason = models.CharField(
        _("reason for cancelling or moving"), max_length=500, blank=True
    )
    late = models.BooleanField(
        _("late"),
        default=False,
        help_text=_("Cancelled or moved inside the notice period."),
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("no-show recorded at"), null=True, blank=True)
    outcome_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("outcome recorded by"),
    )
    rescheduled_from = models.OneToOneField(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="rescheduled_to",
        verbose_name=_("moved from"),
    )
    follows = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("follow-up of"),
    )
    proposed_slot = models.ForeignKey(
        "ProposedSlot",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("proposed slot"),
    )
    # The calendar identity survives a move: the new appointment keeps the UID and
    # raises the SEQUENCE, so that calendars update the event instead of adding one.
    ics_uid = models.UUIDField(default=uuid.uuid4, editable=False)
    ics_sequence = models.PositiveIntegerField(default=0, editable=False)
    concierge_note = models.TextField(
        _("note for the concierge"),
        blank=True,
        help_text=_("Never shown to the patient, the practitioner or partners."),
    )
    checklist_done = ArrayField(
        models.CharField(max_length=64),
        verbose_name=_("checklist items ticked"),
        default=list,
        blank=True,
    )

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["-starts_at"]
        permissions = [
            ("book_appointment", _("Can book, move and cancel appointments")),
            ("record_outcome", _("Can record that an appointment was done or missed")),
        ]
        constraints = [
            ExclusionConstraint(
                name="appointments_no_double_booking",
                expressions=[
                    ("practitioner", RangeOperators.EQUAL),
                    (
                        TsTzRange("starts_at", "ends_at", RangeBoundary()),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                condition=Q(state__in=["held", "booked", "confirmed"]),
                violation_error_code="slot_taken",
                violation_error_message=_("This slot was just taken."),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="appointments_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(mode="in_person", place__isnull=False)
                | Q(mode="video", place__isnull=True),
                name="appointments_place_matches_mode",
            ),
            models.CheckConstraint(
                condition=~Q(state="held") | Q(hold_expires_at__isnull=False),
                name="appointments_hold_has_expiry",
            ),
        ]
        indexes = [
            models.Index(
                fields=["practitioner", "starts_at"],
                condition=Q(state__in=["held", "booked", "confirmed"]),
                name="appointments_active_idx",
            ),
            models.Index(fields=["patient", "starts_at"], name="appointments_pt_idx"),
            models.Index(
                fields=["hold_expires_at"],
                condition=Q(state="held"),
                name="appointments_hold_idx",
            ),
            models.Index(fields=["state", "starts_at"], name="appointments_state_idx"),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        return f"{start:%d/%m/%Y %H:%M} – {self.practitioner} – {self.patient_id}"

    def get_absolute_url(self) -> str:
        return reverse("appointments:detail", kwargs={"public_id": self.public_id})

    @property
    def is_video(self) -> bool:
        return self.mode == self.Mode.VIDEO

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def is_upcoming(self) -> bool:
        return (
            self.state in (self.State.BOOKED, self.State.CONFIRMED)
            and self.ends_at > timezone.now()
        )

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    def has_started(self) -> bool:
        return self.starts_at <= timezone.now()

    # Transitions: this instance only, no I/O (services save and notify).

    @transition(field=state, source=State.HELD, target=State.BOOKED)
    def book(self) -> None:
        self.booked_at = timezone.now()
        self.hold_expires_at = None

    @transition(field=state, source=State.HELD, target=State.EXPIRED)
    def expire(self) -> None:
        """The hold lapsed or was released: the slot is free again."""

    @transition(field=state, source=State.BOOKED, target=State.CONFIRMED)
    def confirm(self) -> None:
        self.confirmed_at = timezone.now()

    def _cancelled(self, *, by, reason: str, late: bool) -> None:
        self.cancelled_at = timezone.now()
        self.cancelled_by = by
        self.cancellation_reason = reason
        self.late = late

    @transition(
        field=state, source=[State.BOOKED, State.CONFIRMED], target=State.CANCELLED
    )
    def cancel(self, *, by, reason: str) -> None:
        self._cancelled(by=by, reason=reason, late=False)

    @transition(
        field=state,
        source=[State.BOOKED, State.CONFIRMED],
        target=State.LATE_CANCELLED,
    )
    def cancel_late(self, *, by, reason: str) -> None:
        self._cancelled(by=by, reason=reason, late=True)

    @transition(
        field=state, source=[State.BOOKED, State.CONFIRMED], target=State.RESCHEDULED
    )
    def move(self, *, by, reason: str, late: bool) -> None:
        self._cancelled(by=by, reason=reason, late=late)

    @transition(
        field=state,
        source=[State.BOOKED, State.CONFIRMED],
        target=State.DONE,
        conditions=[_has_started],
    )
    def mark_done(self, *, by) -> None:
        self.done_at = timezone.now()
        self.outcome_recorded_by = by

    @transition(
        field=state,
        source=[State.BOOKED, State.CONFIRMED],
        target=State.NO_SHOW,
        conditions=[_has_started],
    )
    def mark_no_show(self, *, by) -> None:
        self.no_show_at = timezone.now()
        self.outcome_recorded_by = by


class AppointmentEvent(models.Model):
    """What happened to an appointment, by whom and through which face."""

    class Action(models.TextChoices):
        HELD = "held", _("slot held")
        BOOKED = "booked", _("booked")
        CONFIRMED = "confirmed", _("confirmed by the patient")
        CANCELLED = "cancelled", _("cancelled")
        LATE_CANCELLED = "late_cancelled", _("cancelled late")
        RESCHEDULED = "rescheduled", _("moved")
        EXPIRED = "expired", _("hold expired")
        DONE = "done", _("done")
        NO_SHOW = "no_show", _("patient did not attend")
        SHARED = "shared", _("pre-consultation file shared")
        REPORT = "report", _("report received")

    appointment = models.ForeignKey(
        Appointment,
        models.CASCADE,
        related_name="events",
        verbose_name=_("appointment"),
    )
    action = models.CharField(_("what"), max_length=20, choices=Action.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    via = models.CharField(_("through"), max_length=16, choices=Face.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment events")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%d/%m/%Y %H:%M})"


# --- Proposals -----------------------------------------------------------------------


class SlotProposalQuerySet(models.QuerySet["SlotProposal"]):
    def visible_to(self, user) -> "SlotProposalQuerySet":
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        return self.filter(patient__in=_managed_patient_ids(user))

    def open(self) -> "SlotProposalQuerySet":
        return self.filter(state=SlotProposal.State.OPEN, expires_at__gt=timezone.now())


class SlotProposal(FSMModelMixin, TimeStampedModel):
    """Slots a concierge proposes to a patient, who picks one."""

    class State(models.TextChoices):
        OPEN = "open", _("Waiting for the patient")
        ACCEPTED = "accepted", _("A slot was chosen")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient",
        models.CASCADE,
        related_name="slot_proposals",
        verbose_name=_("patient"),
    )
    care_request = models.ForeignKey(
        "patients.CareRequest",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="slot_proposals",
        verbose_name=_("care request"),
    )
    shortlist = models.ForeignKey(
        "specialists.Shortlist",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="slot_proposals",
        verbose_name=_("shortlist"),
    )
    specialty = models.ForeignKey(
        "specialists.Specialty",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("specialty"),
    )
    message = models.TextField(_("message to the patient"), blank=True, max_length=2000)
    state = FSMField(
        _("state"), choices=State.choices, default=State.OPEN, protected=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    expires_at = models.DateTimeField(_("answer before"))
    accepted_at = models.DateTimeField(_("chosen at"), null=True, blank=True)
    appointment = models.OneToOneField(
        Appointment,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="proposal",
        verbose_name=_("appointment booked"),
    )

    objects = SlotProposalQuerySet.as_manager()

    class Meta:
        verbose_name = _("slot proposal")
        verbose_name_plural = _("slot proposals")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Proposal of %(count)s slots") % {"count": self.slots.count()}

    def get_absolute_url(self) -> str:
        return reverse("appointments:proposal", kwargs={"public_id": self.public_id})

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN and self.expires_at > timezone.now()

    @transition(field=state, source=State.OPEN, target=State.ACCEPTED)
    def accept(self, *, appointment: Appointment) -> None:
        self.accepted_at = timezone.now()
        self.appointment = appointment

    @transition(field=state, source=State.OPEN, target=State.WITHDRAWN)
    def withdraw(self) -> None:
        """The need changed, or every slot went."""


class ProposedSlot(models.Model):
    proposal = models.ForeignKey(
        SlotProposal, models.CASCADE, related_name="slots", verbose_name=_("proposal")
    )
    practitioner = models.ForeignKey(
        "specialists.Practitioner",
        models.CASCADE,
        related_name="+",
        verbose_name=_("practitioner"),
    )
    place = models.ForeignKey(
        "specialists.PracticePlace",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("place"),
    )
    consultation_kind = models.CharField(
        _("consultation type"), max_length=20, choices=ConsultationType.Kind.choices
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("proposed slot")
        verbose_name_plural = _("proposed slots")
        ordering = ["proposal", "starts_at", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "practitioner", "starts_at"],
                name="appointments_proposed_slot_once",
            )
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        return f"{start:%d/%m/%Y %H:%M} – {self.practitioner}"

    @property
    def is_video(self) -> bool:
        return self.consultation_kind == ConsultationType.Kind.TELECONSULTATION


# --- Waitlist ------------------------------------------------------------------------


class WaitlistEntryQuerySet(models.QuerySet["WaitlistEntry"]):
    def visible_to(self, user) -> "WaitlistEntryQuerySet":
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        return self.filter(patient__in=_managed_patient_ids(user))

    def waiting(self) -> "WaitlistEntryQuerySet":
        return self.filter(state=WaitlistEntry.State.WAITING)


class WaitlistEntry(FSMModelMixin, TimeStampedModel):
    """A patient asks for an earlier slot with a practitioner, if one frees up."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        FULFILLED = "fulfilled", _("Earlier slot booked")
        CANCELLED = "cancelled", _("Withdrawn")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient",
        models.CASCADE,
        related_name="waitlist_entries",
        verbose_name=_("patient"),
    )
    practitioner = models.ForeignKey(
        "specialists.Practitioner",
        models.CASCADE,
        related_name="waitlist_entries",
        verbose_name=_("practitioner"),
    )
    consultation_kind = models.CharField(
        _("consultation type"), max_length=20, choices=ConsultationType.Kind.choices
    )
    appointment = models.ForeignKey(
        Appointment,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        verbose_name=_("appointment to bring forward"),
        help_text=_("An accepted offer moves this appointment to the earlier slot."),
    )
    not_after = models.DateTimeField(
        _("latest wanted"),
        null=True,
        blank=True,
        help_text=_("Only slots before this time are offered."),
    )
    state = FSMField(
        _("state"), choices=State.choices, default=State.WAITING, protected=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "practitioner", "consultation_kind"],
                condition=Q(state="waiting"),
                name="appointments_waitlist_once",
                violation_error_code="already_waiting",
                violation_error_message=_(
                    "This patient is already on this practitioner's waitlist."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} → {self.practitioner}"

    @transition(field=state, source=State.WAITING, target=State.FULFILLED)
    def fulfil(self) -> None:
        self.fulfilled_at = timezone.now()

    @transition(field=state, source=State.WAITING, target=State.CANCELLED)
    def withdraw(self) -> None:
        """The patient no longer wants an earlier slot."""

    @transition(field=state, source=State.WAITING, target=State.EXPIRED)
    def expire(self) -> None:
        """The latest wanted time, or the appointment itself, has passed."""


class WaitlistOffer(FSMModelMixin, TimeStampedModel):
    """A freed slot offered to a waitlisted patient; the first to accept wins."""

    class State(models.TextChoices):
        OPEN = "open", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        TAKEN = "taken", _("Taken by someone else")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    entry = models.ForeignKey(
        WaitlistEntry,
        models.CASCADE,
        related_name="offers",
        verbose_name=_("waitlist entry"),
    )
    place = models.ForeignKey(
        "specialists.PracticePlace",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("place"),
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    rank = models.PositiveIntegerField(_("rank in the waitlist"), default=1)
    expires_at = models.DateTimeField(_("offer valid until"))
    state = FSMField(
        _("state"), choices=State.choices, default=State.OPEN, protected=True
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    appointment = models.ForeignKey(
        Appointment,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("appointment booked"),
    )

    class Meta:
        verbose_name = _("waitlist offer")
        verbose_name_plural = _("waitlist offers")
        ordering = ["starts_at", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "starts_at"], name="appointments_offer_once"
            )
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        return f"{start:%d/%m/%Y %H:%M} → {self.entry}"

    @transition(field=state, source=State.OPEN, target=State.ACCEPTED)
    def accept(self, *, appointment: Appointment) -> None:
        self.decided_at = timezone.now()
        self.appointment = appointment

    @transition(field=state, source=State.OPEN, target=State.TAKEN)
    def lose(self) -> None:
        self.decided_at = timezone.now()

    @transition(field=state, source=State.OPEN, target=State.EXPIRED)
    def expire(self) -> None:
        self.decided_at = timezone.now()


# --- No-shows ------------------------------------------------------------------------


class NoShowFlagQuerySet(models.QuerySet["NoShowFlag"]):
    def raised(self) -> "NoShowFlagQuerySet":
        return self.filter(cleared_at__isnull=True)

    def visible_to(self, user) -> "NoShowFlagQuerySet":
        return self if _is_back_office(user) else self.none()


class NoShowFlag(TimeStampedModel):
    """A patient missed several appointments: the concierge talks with them before
    booking again (Doctolib's practice of recording repeated no-shows)."""

    patient = models.ForeignKey(
        "patients.Patient",
        models.CASCADE,
        related_name="no_show_flags",
        verbose_name=_("patient"),
    )
    no_shows = models.PositiveSmallIntegerField(_("missed appointments"))
    last_no_show_at = models.DateTimeField(_("last missed appointment"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cleared by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = NoShowFlagQuerySet.as_manager()

    class Meta:
        verbose_name = _("repeated no-shows")
        verbose_name_plural = _("repeated no-shows")
        ordering = ["-last_no_show_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(cleared_at__isnull=True),
                name="appointments_one_raised_no_show_flag",
            )
        ]

    def __str__(self) -> str:
        return _("%(count)s missed appointments") % {"count": self.no_shows}


# --- Calendar feeds ------------------------------------------------------------------


class CalendarFeedQuerySet(models.QuerySet["CalendarFeed"]):
    def active(self) -> "CalendarFeedQuerySet":
        return self.filter(revoked_at__isnull=True)


class CalendarFeed(TimeStampedModel):
    """A private calendar URL (iCalendar) of one patient or one practitioner.

    The URL carries a token signed over `public_id`; revoking the feed kills the
    URL, and a new feed gets a new id, hence a new URL.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
        verbose_name=_("patient"),
    )
    practitioner = models.ForeignKey(
        "specialists.Practitioner",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
        verbose_name=_("practitioner"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_fetched_at = models.DateTimeField(_("last read at"), null=True, blank=True)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__isnull=False, practitioner__isnull=True)
                | Q(patient__isnull=True, practitioner__isnull=False),
                name="appointments_feed_one_owner",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(revoked_at__isnull=True, patient__isnull=False),
                name="appointments_one_feed_per_patient",
            ),
            models.UniqueConstraint(
                fields=["practitioner"],
                condition=Q(revoked_at__isnull=True, practitioner__isnull=False),
                name="appointments_one_feed_per_practitioner",
            ),
        ]

    def __str__(self) -> str:
        owner = self.practitioner if self.practitioner_id else self.patient
        return _("Calendar of %(owner)s") % {"owner": owner}


# --- Before the visit: the pre-consultation file -------------------------------------


class PreConsultationShareQuerySet(models.QuerySet["PreConsultationShare"]):
    def visible_to(self, user) -> "PreConsultationShareQuerySet":
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        return self.filter(appointment__patient__in=_managed_patient_ids(user))

    def active(self) -> "PreConsultationShareQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class PreConsultationShare(TimeStampedModel):
    """With the patient's consent, the file one practitioner reads before a visit:
    the summary and the documents chosen, through an expiring, audited link."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    appointment = models.ForeignKey(
        Appointment,
        models.CASCADE,
        related_name="pre_consultation_shares",
        verbose_name=_("appointment"),
    )
    practitioner = models.ForeignKey(
        "specialists.Practitioner",
        models.CASCADE,
        related_name="+",
        verbose_name=_("shared with"),
    )
    include_summary = models.BooleanField(_("medical summary included"), default=True)
    documents = models.ManyToManyField(
        "patients.Document",
        blank=True,
        related_name="+",
        verbose_name=_("documents"),
    )
    consent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("consent given or recorded by"),
    )
    consent_channel = models.CharField(
        _("consent collected"), max_length=16, choices=Face.choices
    )
    expires_at = models.DateTimeField(_("link valid until"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    opened_count = models.PositiveIntegerField(_("times opened"), default=0)
    last_opened_at = models.DateTimeField(_("last opened at"), null=True, blank=True)

    objects = PreConsultationShareQuerySet.as_manager()

    class Meta:
        verbose_name = _("pre-consultation file")
        verbose_name_plural = _("pre-consultation files")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Pre-consultation file for %(practitioner)s") % {
            "practitioner": self.practitioner
        }

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


# --- After the visit: reports and prescriptions ---------------------------------------


class ReportRequest(TimeStampedModel):
    """The practitioner's report (compte rendu) asked for after a visit."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    appointment = models.OneToOneField(
        Appointment,
        models.CASCADE,
        related_name="report_request",
        verbose_name=_("appointment"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    document = models.ForeignKey(
        "patients.Document",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("report"),
    )
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)

    class Meta:
        verbose_name = _("report request")
        verbose_name_plural = _("report requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Report for %(appointment)s") % {"appointment": self.appointment}

    @property
    def is_received(self) -> bool:
        return self.received_at is not None


class Pharmacy(TimeStampedModel):
    """A pharmacy patients send their prescriptions to."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=160)
    address = models.CharField(_("address"), max_length=250)
    postal_code = models.CharField(_("postal code"), max_length=5)
    city = models.CharField(_("city"), max_length=120)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    finess = models.CharField(
        _("FINESS number"),
        max_length=9,
        blank=True,
        help_text=_("Nine characters, from the national register of establishments."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pharmacy")
        verbose_name_plural = _("pharmacies")
        ordering = ["city", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(finess="") | Q(finess__regex=r"^[0-9AB]{9}$"),
                name="appointments_pharmacy_finess_format",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.postal_code} {self.city})"


class PharmacyChoice(TimeStampedModel):
    """The pharmacy a patient chose for their prescriptions."""

    patient = models.OneToOneField(
        "patients.Patient",
        models.CASCADE,
        related_name="pharmacy_choice",
        verbose_name=_("patient"),
    )
    pharmacy = models.ForeignKey(
        Pharmacy, models.PROTECT, related_name="+", verbose_name=_("pharmacy")
    )
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chosen by"),
    )

    class Meta:
        verbose_name = _("chosen pharmacy")
        verbose_name_plural = _("chosen pharmacies")

    def __str__(self) -> str:
        return str(self.pharmacy)


class PrescriptionTransmissionQuerySet(models.QuerySet["PrescriptionTransmission"]):
    def visible_to(self, user) -> "PrescriptionTransmissionQuerySet":
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        return self.filter(patient__in=_managed_patient_ids(user))


class PrescriptionTransmission(TimeStampedModel):
    """A prescription sent to the patient's pharmacy: what, to whom, when, read when."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient",
        models.CASCADE,
        related_name="prescription_transmissions",
        verbose_name=_("patient"),
    )
    appointment = models.ForeignKey(
        Appointment,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="prescription_transmissions",
        verbose_name=_("appointment"),
    )
    pharmacy = models.ForeignKey(
        Pharmacy,
        models.PROTECT,
        related_name="transmissions",
        verbose_name=_("pharmacy"),
    )
    # The pharmacy's contact at the time of sending, for the record.
    pharmacy_email = models.EmailField(_("sent to"))
    # Kept when the document goes (erasure, retention): the record of the sending
    # stays, the prescription does not.
    document = models.ForeignKey(
        "patients.Document",
        models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("prescription"),
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    expires_at = models.DateTimeField(_("link valid until"))
    opened_count = models.PositiveIntegerField(_("times opened"), default=0)
    last_opened_at = models.DateTimeField(_("last opened at"), null=True, blank=True)

    objects = PrescriptionTransmissionQuerySet.as_manager()

    class Meta:
        verbose_name = _("prescription sent to a pharmacy")
        verbose_name_plural = _("prescriptions sent to pharmacies")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Prescription to %(pharmacy)s") % {"pharmacy": self.pharmacy}


# Registered with the app from its own module (see appointments/surveys_models.py).
from .surveys_models import SatisfactionSurvey  # noqa: E402, F401
