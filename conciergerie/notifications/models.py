"""The outbox: one row per message to send, whatever the channel.

A row is written in the same transaction as the business change that calls for it
(a booking, a cancellation), so that a message exists if and only if its reason
does. Its unique `key` names the message, e.g. `appointment:<uuid>:reminder:sms`:
scheduling it twice finds the same row, and the key travels to the provider as an
idempotency key. See docs/notifications.md for the whole design.
"""

from typing import Any, cast

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Count, Q, sql
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from conciergerie.models import TimeStampedModel


class Channel(models.TextChoices):
    """The built-in channels; others register theirs in `channels.register_channel`.

    The `channel` column carries no database choices on purpose, so that a channel
    added by another app (partner webhooks) needs no migration of this one.
    """

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class MessageQuerySet(models.QuerySet["Message"]):
    def for_subject(self, subject: str) -> "MessageQuerySet":
        return self.filter(subject=subject)

    def due(self, *, now=None) -> "MessageQuerySet":
        """Pending rows whose (next) attempt time has come."""
        return self.filter(
            state=Message.State.PENDING,
            next_attempt_at__lte=now or timezone.now(),
        )

    def visible_to(self, user) -> "MessageQuerySet":
        """Staff see the whole outbox; anyone else only messages addressed to them."""
        if user.is_staff:
            return self
        return self.filter(user=user)

    def update_returning(self, **values: Any) -> list["Message"]:
        """`update()` that answers the updated rows, in one statement (RETURNING).

        The claim and the outcome each need the row they changed; reading it back
        would cost a second round trip per message.
        """
        query = cast(sql.UpdateQuery, self.query.chain(sql.UpdateQuery))
        query.add_update_values(values)
        statement, params = query.get_compiler(self.db).as_sql()
        manager = self.model._default_manager.db_manager(self.db)
        return list(manager.raw(f"{statement} RETURNING *", params))

    def delivery_summary(self) -> list[dict[str, Any]]:
        """Per channel: messages per state, and the share handed over successfully.

        The rate counts finished messages only (sent, delivered or failed): those
        still waiting or cancelled say nothing about the providers.
        """
        states = Message.State
        rows = (
            self.order_by()
            .values("channel")
            .annotate(
                total=Count("pk"),
                **{
                    state: Count("pk", filter=Q(state=state)) for state in states.values
                },
            )
            .order_by("channel")
        )
        summary = []
        for row in rows:
            handed = row[states.SENT] + row[states.DELIVERED]
            finished = handed + row[states.FAILED]
            row["rate"] = round(100 * handed / finished, 1) if finished else None
            summary.append(row)
        return summary


class Message(FSMModelMixin, TimeStampedModel):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Handed over")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Sending failed")
        CANCELLED = "cancelled", _("Cancelled before sending")

    key = models.CharField(
        _("key"),
        max_length=200,
        help_text=_("Names the message once and for all; also its idempotency key."),
    )
    subject = models.CharField(
        _("related object"),
        max_length=200,
        blank=True,
        help_text=_('The object the message is about, e.g. "appointment:<id>".'),
    )
    channel = models.CharField(_("channel"), max_length=20)
    to = models.CharField(_("recipient"), max_length=320)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="notification_messages",
        verbose_name=_("user"),
    )
    template = models.CharField(_("template"), max_length=200)
    language = models.CharField(_("language"), max_length=8)
    context = models.JSONField(
        _("context"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    due_at = models.DateTimeField(_("due at"))
    expires_at = models.DateTimeField(
        _("expires at"),
        null=True,
        blank=True,
        help_text=_("Past this time the message is pointless and is not sent."),
    )
    state = FSMField(
        _("state"), choices=State.choices, default=State.PENDING, protected=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # A fencing token: the outcome of an attempt is recorded only if the row has
    # not been claimed again since (after a recovery), whatever the clocks say.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=200, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-due_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="notifications_unique_key"),
            models.CheckConstraint(
                condition=~Q(key="") & ~Q(channel="") & ~Q(to=""),
                name="notifications_key_channel_to_present",
            ),
            models.CheckConstraint(
                condition=~Q(state="sending") | Q(claimed_at__isnull=False),
                name="notifications_sending_has_claim",
            ),
        ]
        indexes = [
            # The sweep's three questions, each answered by a small partial index.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="notifications_due_idx",
            ),
            models.Index(
                fields=["queued_at"],
                condition=Q(state="queued"),
                name="notifications_queued_idx",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(state="sending"),
                name="notifications_sending_idx",
            ),
            models.Index(
                fields=["provider_id"],
                condition=~Q(provider_id=""),
                name="notifications_provider_idx",
            ),
            models.Index(fields=["subject"], name="notifications_subject_idx"),
            models.Index(fields=["state", "channel"], name="notifications_state_idx"),
        ]

    def __str__(self) -> str:
        return self.key

    # Transitions of one row held under a lock (admin actions, provider callbacks).
    # The hot path (queue, claim, outcome, recovery) is a set of conditional
    # UPDATEs in services.py instead: each must be one atomic statement that takes
    # no lock across the provider call.

    @transition(
        field=state,
        source=[State.PENDING, State.QUEUED, State.FAILED],
        target=State.CANCELLED,
    )
    def cancel(self) -> None:
        self.cancelled_at = timezone.now()

    def has_failed_before(self) -> bool:
        """Failed, or waiting for a retry: a message not yet due is not retried."""
        return self.state == self.State.FAILED or self.attempts > 0

    @transition(
        field=state,
        source=[State.PENDING, State.QUEUED, State.FAILED],
        target=State.PENDING,
        conditions=[has_failed_before],
    )
    def retry_now(self) -> None:
        """A fresh series of attempts, starting now (a staff decision)."""
        now = timezone.now()
        self.attempts = 0
        self.next_attempt_at = now
        self.failed_at = None

    @transition(field=state, source=State.SENT, target=State.DELIVERED)
    def mark_delivered(self) -> None:
        self.delivered_at = timezone.now()

    @transition(field=state, source=State.SENT, target=State.FAILED)
    def mark_undelivered(self, *, error_code: str, error: str) -> None:
        self.failed_at = timezone.now()
        self.error_code = error_code
        self.last_error = error


class ParkedTask(models.Model):
    """A task the broker could not take when its transaction committed.

    The change it follows is saved; the task waits here until the broker is back
    and `republish_parked_tasks` hands it over (see conciergerie/celery.py).
    """

    name = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(
        _("keyword arguments"), default=dict, encoder=DjangoJSONEncoder
    )
    parked_at = models.DateTimeField(_("parked at"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts to publish"), default=0)

    class Meta:
        ordering = ["parked_at", "pk"]
        indexes = [models.Index(fields=["parked_at", "id"])]
        verbose_name = _("parked task")
        verbose_name_plural = _("parked tasks")

    def __str__(self) -> str:
        return f"{self.name} {self.args} {self.kwargs}"
