"""Partner organisations, their API applications, webhooks and idempotent requests.

An organisation (a clinic, a laboratory, an insurer, an employer) is the unit of
data isolation: all its OAuth2 applications act as one service account, so that
`visible_to(request.user)` in every app shows each of them the same patients,
documents and invoices — the organisation's — and nothing else.
"""

import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conciergerie.fields import EncryptedCharField
from conciergerie.models import TimeStampedModel

RATE_PATTERN = r"^[1-9][0-9]{0,6}/(s|sec|second|m|min|minute|h|hour|d|day)$"


def validate_scopes(value: list[str]) -> None:
    unknown = sorted(set(value) - set(settings.API_SCOPES))
    if unknown:
        raise ValidationError(
            _("Unknown scopes: %(scopes)s."),
            code="unknown_scope",
            params={"scopes": ", ".join(unknown)},
        )


class EventType(models.TextChoices):
    """What a partner can subscribe to; `ping` is only sent on demand."""

    CARE_REQUEST_STATE_CHANGED = (
        "care_request.state_changed",
        _("Care request state changed"),
    )
    APPOINTMENT_BOOKED = "appointment.booked", _("Appointment booked")
    APPOINTMENT_CANCELLED = "appointment.cancelled", _("Appointment cancelled")
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled", _("Appointment rescheduled")
    APPOINTMENT_NO_SHOW = "appointment.no_show", _("Patient did not attend")
    DOCUMENT_ADDED = "document.added", _("Document added")
    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")
    CLAIM_UPDATED = "claim.updated", _("Reimbursement claim updated")
    PING = "ping", _("Test event")

    @classmethod
    def subscribable(cls) -> list[str]:
        return [value for value in cls.values if value != cls.PING]


# --- Organisations and applications ------------------------------------------------


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def visible_to(self, user) -> "OrganisationQuerySet":
        """The back-office sees every partner; a partner account, its own."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(service_user=user)

    def active(self) -> "OrganisationQuerySet":
        return self.filter(is_active=True)


class Organisation(TimeStampedModel):
    class Kind(models.TextChoices):
        CLINIC = "clinic", _("Clinic")
        LABORATORY = "laboratory", _("Laboratory")
        INSURER = "insurer", _("Insurer")
        EMPLOYER = "employer", _("Employer")

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    siret = models.CharField(
        _("SIRET"),
        max_length=14,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{14}$", code="invalid_siret")],
    )
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="partner_organisation",
        verbose_name=_("service account"),
        help_text=_(
            "Every application of the organisation acts as this account: what it "
            "may see is what the organisation may see."
        ),
    )
    throttle_rate = models.CharField(
        _("API rate limit"),
        max_length=20,
        blank=True,
        validators=[RegexValidator(RATE_PATTERN, code="invalid_rate")],
        help_text=_(
            "Requests per period for all the organisation's applications, e.g. "
            "'600/min'. Empty: the default rate."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("partner organisation")
        verbose_name_plural = _("partner organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def technical_emails(self) -> list[str]:
        return [
            contact.email
            for contact in self.contacts.all()
            if contact.role == Contact.Role.TECHNICAL and contact.email
        ]


class Contact(TimeStampedModel):
    class Role(models.TextChoices):
        TECHNICAL = "technical", _("Technical")
        BUSINESS = "business", _("Business")
        BILLING = "billing", _("Billing")
        MEDICAL = "medical", _("Medical")

    organisation = models.ForeignKey(
        Organisation,
        models.CASCADE,
        related_name="contacts",
        verbose_name=_("organisation"),
    )
    role = models.CharField(
        _("role"), max_length=12, choices=Role.choices, default=Role.TECHNICAL
    )
    name = models.CharField(_("name"), max_length=150, blank=True)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["role", "name", "email"]

    def __str__(self) -> str:
        return f"{self.name or self.email} ({self.get_role_display()})"


class PartnerApplication(TimeStampedModel):
    """What the partners app knows of an OAuth2 application: owner, scopes, state."""

    application = models.OneToOneField(
        "oauth2_provider.Application",
        models.CASCADE,
        related_name="partner_profile",
        verbose_name=_("OAuth2 application"),
    )
    organisation = models.ForeignKey(
        Organisation,
        models.PROTECT,
        related_name="applications",
        verbose_name=_("organisation"),
    )
    allowed_scopes = ArrayField(
        models.CharField(max_length=64),
        verbose_name=_("allowed scopes"),
        default=list,
        blank=True,
        validators=[validate_scopes],
        help_text=_("A token may ask for these scopes and no others."),
    )
    secret_rotated_at = models.DateTimeField(
        _("secret changed at"), null=True, blank=True, editable=False
    )
    revoked_at = models.DateTimeField(
        _("revoked at"), null=True, blank=True, editable=False
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("partner application")
        verbose_name_plural = _("partner applications")
        ordering = ["organisation__name", "application__name"]

    def __str__(self) -> str:
        return self.application.name

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def client_id(self) -> str:
        return self.application.client_id


# --- Webhooks ----------------------------------------------------------------------


class SubscriptionQuerySet(models.QuerySet["WebhookSubscription"]):
    def visible_to(self, user) -> "SubscriptionQuerySet":
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(organisation__service_user=user)

    def active(self) -> "SubscriptionQuerySet":
        return self.filter(is_active=True, organisation__is_active=True)

    def for_event(self, event_type: str) -> "SubscriptionQuerySet":
        return self.active().filter(event_types__contains=[event_type])


class WebhookSubscription(TimeStampedModel):
    """A partner's URL and the events it wants, signed with its own secret."""

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    organisation = models.ForeignKey(
        Organisation,
        models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name=_("organisation"),
    )
    url = models.URLField(_("URL"), max_length=300)
    event_types = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices),
        verbose_name=_("events"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = EncryptedCharField(_("signing secret"), editable=False)
    # During a rotation both secrets sign, so that the partner can switch over.
    previous_secret = EncryptedCharField(
        _("previous secret"), blank=True, default="", editable=False
    )
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_cause = models.CharField(_("disabled because"), max_length=200, blank=True)
    failing_since = models.DateTimeField(
        _("failing since"),
        null=True,
        blank=True,
        help_text=_("First failed attempt since the last successful delivery."),
    )
    consecutive_failed_deliveries = models.PositiveIntegerField(
        _("deliveries failed in a row"), default=0
    )
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["organisation__name", "url"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(event_types=[]), name="partners_subscription_has_events"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} → {self.url}"

    def signing_secrets(self, *, now=None) -> list[str]:
        """The current secret, and the previous one while it is still honoured."""
        now = now or timezone.now()
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > now
        ):
            secrets.append(self.previous_secret)
        return secrets


class WebhookEvent(models.Model):
    """Something happened that partners may hear of; `id` is the event id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    payload = models.JSONField(_("data"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="partners_event_created")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"

    def envelope(self) -> dict:
        """The JSON body every subscriber receives for this event."""
        return {
            "id": str(self.id),
            "type": self.event_type,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.payload,
        }


class WebhookDeliveryQuerySet(models.QuerySet["WebhookDelivery"]):
    def visible_to(self, user) -> "WebhookDeliveryQuerySet":
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(subscription__organisation__service_user=user)


class WebhookDelivery(TimeStampedModel):
    """One event to one subscription: one outbox message, several attempts."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    event = models.ForeignKey(
        WebhookEvent,
        models.CASCADE,
        related_name="deliveries",
        verbose_name=_("event"),
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    message = models.OneToOneField(
        "notifications.Message",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_delivery",
        verbose_name=_("outbox message"),
    )
    redelivery_of = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="redeliveries",
        verbose_name=_("redelivery of"),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    succeeded_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["subscription", "state"], name="partners_delivery_state"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event.event_type} → {self.subscription.url}"


class WebhookAttempt(models.Model):
    """One HTTP request to a partner's endpoint, as it went."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
    )
    attempted_at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(
        _("HTTP status"), null=True, blank=True
    )
    succeeded = models.BooleanField(_("succeeded"), default=False)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    response_excerpt = models.TextField(_("response (start)"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["attempted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or '-'}"


# --- Idempotent API requests -------------------------------------------------------

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotentRequest(models.Model):
    """The first response to a POST carrying an `Idempotency-Key`, kept 24 hours."""

    class State(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        COMPLETED = "completed", _("Completed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="+",
        verbose_name=_("caller"),
    )
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    state = models.CharField(max_length=12, choices=State.choices)
    locked_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(default=b"", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="partners_idempotency_once"
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="partners_idem_expiry")]

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def lifetime() -> timedelta:
        return timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
