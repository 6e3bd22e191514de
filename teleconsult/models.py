"""Teleconsultations: video sessions with their timeline, practitioner links,
shared documents, and technical help tickets raised from the device check."""

import uuid
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from conciergerie.fields import EncryptedTextField
from conciergerie.models import TimeStampedModel


class SupportTicketQuerySet(models.QuerySet):
    def visible_to(self, user) -> "SupportTicketQuerySet":
        if user.is_staff:
            return self
        return self.filter(opened_by=user)

    def open(self) -> "SupportTicketQuerySet":
        return self.filter(handled_at__isnull=True)


class SupportTicket(TimeStampedModel):
    """A patient or practitioner needs technical help before a teleconsultation."""

    class Kind(models.TextChoices):
        DEVICE_HELP = "device_help", _("help with the equipment")
        PHONE_FALLBACK = "phone_fallback", _("call the patient: video unavailable")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(
        _("type"), max_length=16, choices=Kind.choices, default=Kind.DEVICE_HELP
    )
    # Empty when a patient asks through their personal link, without an account.
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="support_tickets",
        verbose_name=_("opened by"),
    )
    session = models.ForeignKey(
        "TeleconsultationSession",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="support_tickets",
        verbose_name=_("teleconsultation"),
    )
    phone = models.CharField(_("phone to call"), max_length=32, blank=True)
    message = models.TextField(_("message"), blank=True)
    # Camera, microphone, speaker and connection results, as the browser saw them.
    check_results = models.JSONField(
        _("device check results"), default=dict, blank=True
    )
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)

    objects = SupportTicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("technical support ticket")
        verbose_name_plural = _("technical support tickets")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = self.opened_by or (self.session and self.session.appointment.patient_id)
        return _("Support for %(user)s") % {"user": who}

    @property
    def failed_checks(self) -> list[str]:
        return sorted(
            name
            for name, result in self.check_results.items()
            if isinstance(result, dict) and result.get("status") == "fail"
        )


# --- Video sessions -------------------------------------------------------------------


class SessionQuerySet(models.QuerySet["TeleconsultationSession"]):
    def visible_to(self, user) -> "SessionQuerySet":
        """Whoever may see the appointment may see its session (404 otherwise)."""
        from appointments.models import Appointment

        return self.filter(appointment__in=Appointment.objects.visible_to(user))

    def of_day(self, day: date) -> "SessionQuerySet":
        start = timezone.make_aware(datetime.combine(day, time.min))
        return self.filter(
            appointment__starts_at__gte=start,
            appointment__starts_at__lt=start + timedelta(days=1),
        )


class TeleconsultationSession(FSMModelMixin, TimeStampedModel):
    """The video room of one teleconsultation appointment, and what happened in it.

    Nothing of the video is kept: the trace is the timeline (events), the shared
    documents and the report, all in the patient's file.
    """

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        IN_PROGRESS = "in_progress", _("In progress")
        ENDED = "ended", _("Ended")
        NO_SHOW = "no_show", _("Patient did not come")

    class PractitionerStatus(models.TextChoices):
        NOT_ARRIVED = "not_arrived", _("Not arrived yet")
        READY = "ready", _("Connected")
        IN_CONSULTATION = "in_consultation", _("In consultation")
        LEFT = "left", _("Left")

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    appointment = models.OneToOneField(
        "appointments.Appointment",
        models.PROTECT,
        related_name="teleconsultation",
        verbose_name=_("appointment"),
    )
    room = models.CharField(_("video room"), max_length=64, unique=True)
    state = FSMField(
        _("state"), choices=State.choices, default=State.WAITING, protected=True
    )
    practitioner_status = models.CharField(
        _("practitioner"),
        max_length=16,
        choices=PractitionerStatus.choices,
        default=PractitionerStatus.NOT_ARRIVED,
    )
    practitioner_seen_at = models.DateTimeField(
        _("practitioner last seen"), null=True, blank=True
    )
    patient_arrived_at = models.DateTimeField(
        _("patient arrived at"), null=True, blank=True
    )
    patient_seen_at = models.DateTimeField(
        _("patient last seen"), null=True, blank=True
    )
    patient_admitted = models.BooleanField(_("patient admitted"), default=False)
    admitted_at = models.DateTimeField(_("admitted at"), null=True, blank=True)
    admitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("admitted by"),
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )
    no_show_at = models.DateTimeField(_("no-show recorded at"), null=True, blank=True)
    no_show_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("no-show recorded by"),
    )
    # Who acted without an account (a practitioner through their one-time link).
    closed_by_label = models.CharField(_("closed by"), max_length=150, blank=True)
    reimbursable = models.BooleanField(
        _("reimbursable"),
        default=True,
        help_text=_(
            "False when the French teleconsultation conditions are not met "
            "(coordinated care pathway, seen in person within 12 months)."
        ),
    )
    eligibility_reasons = models.JSONField(
        _("reimbursement conditions not met"), default=list, blank=True
    )
    phone_fallback_requested_at = models.DateTimeField(
        _("phone call requested at"), null=True, blank=True
    )
    report_draft = EncryptedTextField(_("consultation report"), blank=True)
    prescription_draft = EncryptedTextField(_("prescription note"), blank=True)
    report_document = models.ForeignKey(
        "patients.Document",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("report filed"),
    )
    prescription_document = models.ForeignKey(
        "patients.Document",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("prescription filed"),
    )

    objects = SessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("teleconsultation session")
        verbose_name_plural = _("teleconsultation sessions")
        ordering = ["-created_at"]
        permissions = [
            ("run_teleconsultation", _("Can admit, end and follow teleconsultations"))
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="in_progress")
                | models.Q(patient_admitted=True, admitted_at__isnull=False),
                name="teleconsult_in_progress_is_admitted",
            ),
        ]

    def __str__(self) -> str:
        return _("Teleconsultation %(room)s") % {"room": self.room}

    def get_absolute_url(self) -> str:
        return reverse("teleconsult:waiting-room", kwargs={"public_id": self.public_id})

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.WAITING, self.State.IN_PROGRESS)

    @transition(field=state, source=State.WAITING, target=State.IN_PROGRESS)
    def admit(self, *, by) -> None:
        self.patient_admitted = True
        self.admitted_at = timezone.now()
        self.admitted_by = by
        self.practitioner_status = self.PractitionerStatus.IN_CONSULTATION

    @transition(
        field=state, source=[State.WAITING, State.IN_PROGRESS], target=State.ENDED
    )
    def end(self, *, by, label: str = "") -> None:
        self.ended_at = timezone.now()
        self.ended_by = by
        self.closed_by_label = label[:150]
        self.practitioner_status = self.PractitionerStatus.LEFT

    @transition(field=state, source=State.WAITING, target=State.NO_SHOW)
    def mark_no_show(self, *, by, label: str = "") -> None:
        self.no_show_at = timezone.now()
        self.no_show_by = by
        self.closed_by_label = label[:150]


class SessionEvent(models.Model):
    """The timeline of a session: arrivals, admission, documents, end, refusals."""

    class Action(models.TextChoices):
        CREATED = "created", _("room created")
        PATIENT_JOINED = "patient_joined", _("patient joined")
        PRACTITIONER_JOINED = "practitioner_joined", _("practitioner joined")
        ADMITTED = "admitted", _("patient admitted")
        DOCUMENT = "document", _("document shared")
        REPORT = "report", _("report written")
        PRESCRIPTION = "prescription", _("prescription note written")
        ENDED = "ended", _("session ended")
        NO_SHOW = "no_show", _("patient did not come")
        PHONE_FALLBACK = "phone_fallback", _("phone call requested")
        REFUSED = "refused", _("access refused")
        CODE_SENT = "code_sent", _("one-time code sent")

    session = models.ForeignKey(
        TeleconsultationSession,
        models.CASCADE,
        related_name="events",
        verbose_name=_("session"),
    )
    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    at = models.DateTimeField(_("when"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    by_label = models.CharField(_("by (name)"), max_length=150, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("session event")
        verbose_name_plural = _("session events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.get_action_display()}"


class PractitionerPass(TimeStampedModel):
    """A single-use signed link for a practitioner without an account.

    Opening the link asks for a one-time code sent to the practitioner's email or
    mobile phone; the right code opens the console of this one session in that
    browser, and the link is spent.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("email")
        SMS = "sms", _("SMS")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(
        TeleconsultationSession,
        models.CASCADE,
        related_name="passes",
        verbose_name=_("session"),
    )
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_channel = models.CharField(
        _("code sent by"), max_length=8, choices=Channel.choices, blank=True
    )
    code_sent_at = models.DateTimeField(_("code sent at"), null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(_("wrong codes"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("practitioner link")
        verbose_name_plural = _("practitioner links")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Practitioner link for %(session)s") % {"session": self.session}

    @property
    def is_spent(self) -> bool:
        return self.used_at is not None or self.revoked_at is not None


class SharedDocument(models.Model):
    """A document shared during a session; the file itself is in the patient's
    documents (encrypted, audited), this row puts it in the session's panel."""

    class Side(models.TextChoices):
        PATIENT = "patient", _("patient")
        PRACTITIONER = "practitioner", _("practitioner")

    session = models.ForeignKey(
        TeleconsultationSession,
        models.CASCADE,
        related_name="shared_documents",
        verbose_name=_("session"),
    )
    document = models.ForeignKey(
        "patients.Document",
        models.PROTECT,
        related_name="+",
        verbose_name=_("document"),
    )
    side = models.CharField(_("shared by"), max_length=16, choices=Side.choices)
    shared_at = models.DateTimeField(_("shared at"), default=timezone.now)

    class Meta:
        verbose_name = _("shared document")
        verbose_name_plural = _("shared documents")
        ordering = ["shared_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "document"], name="teleconsult_document_once"
            )
        ]

    def __str__(self) -> str:
        return str(self.document_id)
