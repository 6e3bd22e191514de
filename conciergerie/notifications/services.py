"""The outbox's services: schedule, send, retry, recover, cancel, record delivery.

Other apps call these (never the models' state directly):

- `schedule_message(...)` in the transaction that calls for a message;
- `cancel_messages(subject=...)` when its reason disappears (a cancelled booking);
- `render_message(...)` to preview or test a template.

How a message is sent exactly once, across crashed workers and a restarted Redis:

1. *Scheduling* inserts the row with `INSERT … ON CONFLICT (key) DO NOTHING`: the
   same key never makes two rows, even when two transactions race. A row due
   now is inserted `queued` and its id enqueued after commit.
2. *The sweep* (a beat task, every `NOTIFICATIONS_SWEEP_SECONDS`) marks due rows
   `queued` and enqueues their id after commit. A task may be lost (Redis restarted
   empty) or delivered twice (a redelivered unacknowledged task): neither matters,
   because the task decides nothing by itself.
3. *The claim* is one conditional UPDATE, `pending|queued and due → sending`,
   committed before the provider is called: of two workers holding the same id,
   exactly one sees a row updated; the other stops. The claim stamps a fresh
   `claim_token`.
4. *The provider call* carries the row's key as idempotency key (SMS: the
   `Idempotency-Key` header; email: a `Message-ID` derived from the key).
5. *The outcome* is recorded by an UPDATE guarded by the claim token, so a late
   worker never overwrites the outcome of a newer attempt.
6. *Recovery*: a row left `sending` longer than `NOTIFICATIONS_CLAIM_TIMEOUT`
   (its worker died) or `queued` longer than `NOTIFICATIONS_QUEUE_TIMEOUT` (its
   task was lost) goes back to `pending` and is sent again.

The one window for a duplicate is a crash after the provider accepted the message
and before step 5 committed: the row is recovered and sent again, with the same
key, and the provider drops the repeat. Nothing else can send a row twice, and
no row can stay unsent: every state short of `sent` is either claimable or
recovered by the sweep.
"""

import json
import logging
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from conciergerie.accounts.models import User

from . import tasks
from .channels import DeliveryError, Rendered, channel_names, get_channel
from .models import Message
from .timing import retry_delay

logger = logging.getLogger(__name__)

State = Message.State

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._@/+-]{0,199}$")

#: Context keys refused outright: messages never carry medical details (they are
#: read on lock screens and shared phones). The list is a guard rail, not a proof.
MEDICAL_CONTEXT_KEYS = frozenset(
    {
        "diagnosis",
        "symptoms",
        "treatment",
        "prescription",
        "medical_notes",
        "medical_history",
        "specialty",
        "exam",
        "exams",
        "results",
        "reason",
        "triage",
    }
)


@dataclass(frozen=True)
class SweepReport:
    recovered: int
    gave_up: int
    enqueued: int


def subject_for(obj: models.Model) -> str:
    """The subject string of a model instance, e.g. `appointments.appointment:<pk>`."""
    return f"{obj._meta.label_lower}:{obj.pk}"


def message_key(*, subject: str, kind: str, channel: str) -> str:
    """The unique key of the `kind` message about `subject` on `channel`."""
    return f"{subject}:{kind}:{channel}"


def _check_context(context: Any, path: str = "") -> None:
    if isinstance(context, Mapping):
        for name, value in context.items():
            if str(name).lower() in MEDICAL_CONTEXT_KEYS:
                raise ValidationError(
                    _("Messages may not carry medical details (%(name)s)."),
                    code="medical_content",
                    params={"name": f"{path}{name}"},
                )
            _check_context(value, f"{path}{name}.")
    elif isinstance(context, list | tuple):
        for value in context:
            _check_context(value, path)


def _serialisable(context: Mapping[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(context, cls=DjangoJSONEncoder)
    except (TypeError, ValueError) as error:
        raise ValidationError(
            _("The message context must be plain data (text, numbers, dates)."),
            code="invalid_context",
        ) from error
    return dict(context)


def _validate_new_message(
    *, key: str, channel: str, to: str, template: str, language: str, due_at: datetime
) -> None:
    if not KEY_PATTERN.match(key):
        raise ValidationError(_("This message key is not valid."), code="invalid_key")
    if timezone.is_naive(due_at):
        raise ValidationError(
            _("The due time must carry a time zone."), code="naive_datetime"
        )
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise ValidationError(
            _("Unknown language %(language)s."),
            code="unknown_language",
            params={"language": language},
        )
    backend = get_channel(channel)
    backend.validate_recipient(to)
    backend.validate_template(template)


@dataclass(frozen=True)
class MessageSpec:
    """One message to put in the outbox (see `schedule_messages`)."""

    key: str
    channel: str
    to: str
    template: str
    context: Mapping[str, Any]
    due_at: datetime
    language: str
    user: User | None = None
    subject: str = ""
    expires_at: datetime | None = None


def schedule_message(
    *,
    key: str,
    channel: str,
    to: str,
    template: str,
    context: Mapping[str, Any],
    due_at: datetime,
    language: str,
    user: User | None = None,
    subject: str = "",
    expires_at: datetime | None = None,
) -> Message:
    """Put a message in the outbox, once: a key already scheduled returns its row.

    Call it inside the transaction of the change that calls for the message: the
    row commits or rolls back with it. The first call wins; later calls with the
    same key change nothing, whatever the row's state (a message to send again
    after a change, such as a rescheduled appointment's reminder, needs a new key).
    A message due now is enqueued when the transaction commits, the others by the
    sweep when their time comes.
    """
    spec = MessageSpec(
        key=key,
        channel=channel,
        to=to,
        template=template,
        context=context,
        due_at=due_at,
        language=language,
        user=user,
        subject=subject,
        expires_at=expires_at,
    )
    return schedule_messages([spec])[0]


def schedule_messages(specs: Sequence[MessageSpec]) -> list[Message]:
    """`schedule_message` for several messages at once, in three queries.

    A booking calls for half a dozen messages (confirmation and reminders, by SMS
    and email); one at a time they cost five queries each. Here: one lookup of
    the keys already scheduled, one `INSERT … ON CONFLICT (key) DO NOTHING` for
    the others, one read of what was inserted. A message due now is inserted
    `queued` and enqueued on commit; when a concurrent transaction inserted the
    same key first, its row is returned and only that transaction enqueues it.
    Every message is validated before anything is written: one invalid message
    schedules none. Returns the rows in the order of `specs`.
    """
    keys = [spec.key for spec in specs]
    rows = {message.key: message for message in Message.objects.filter(key__in=keys)}
    now = timezone.now()
    fresh: dict[str, Message] = {}
    for spec in specs:
        if spec.key in rows or spec.key in fresh:
            continue
        fresh[spec.key] = _new_message(spec, now=now)
    if fresh:
        Message.objects.bulk_create(fresh.values(), ignore_conflicts=True)
        for message in Message.objects.filter(key__in=fresh):
            rows[message.key] = message
            # Ours when queued at this call's own instant: a row of a concurrent
            # transaction carries its own. A double enqueue would be harmless
            # anyway (the claim sends once); this only spares the broker.
            if message.state == State.QUEUED and message.queued_at == now:
                tasks.send_message.delay_on_commit(message.pk)
    return [rows[key] for key in keys]


def _new_message(spec: MessageSpec, *, now: datetime) -> Message:
    _validate_new_message(
        key=spec.key,
        channel=spec.channel,
        to=spec.to,
        template=spec.template,
        language=spec.language,
        due_at=spec.due_at,
    )
    _check_context(spec.context)
    due = spec.due_at <= now
    message = Message(
        key=spec.key,
        subject=spec.subject,
        channel=spec.channel,
        to=spec.to,
        user=spec.user,
        template=spec.template,
        language=spec.language,
        context=_serialisable(spec.context),
        due_at=spec.due_at,
        next_attempt_at=spec.due_at,
        expires_at=spec.expires_at,
        state=State.QUEUED if due else State.PENDING,
        queued_at=now if due else None,
    )
    # The user is an instance already: checking that it exists would be a query.
    message.full_clean(
        exclude=["state", "user"], validate_unique=False, validate_constraints=False
    )
    return message


def _enqueue_if_due(message: Message) -> None:
    now = timezone.now()
    if message.state != State.PENDING or message.next_attempt_at > now:
        return
    queued = Message.objects.filter(pk=message.pk, state=State.PENDING).update(
        state=State.QUEUED, queued_at=now, updated_at=now
    )
    if queued:
        tasks.send_message.delay_on_commit(message.pk)
        message.refresh_from_db(fields=["state", "queued_at", "updated_at"])


def cancel_messages(*, subject: str, templates: Collection[str] | None = None) -> int:
    """Cancel the messages about `subject` not sent yet; return how many.

    Messages being handed over at this very moment are past cancelling. Restrict
    to some `templates` to keep others (the cancellation notice itself).
    """
    now = timezone.now()
    messages = Message.objects.for_subject(subject).filter(
        state__in=[State.PENDING, State.QUEUED]
    )
    if templates is not None:
        messages = messages.filter(template__in=list(templates))
    return messages.update(state=State.CANCELLED, cancelled_at=now, updated_at=now)


@transaction.atomic
def cancel_message(*, message: Message) -> Message:
    """Cancel one message that has not been handed over (a staff decision)."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if not can_proceed(message.cancel):
        raise ValidationError(
            _("This message can no longer be cancelled."), code="not_cancellable"
        )
    message.cancel()
    message.save(update_fields=["state", "cancelled_at", "updated_at"])
    return message


@transaction.atomic
def retry_message(*, message: Message) -> Message:
    """Send a failed or waiting message now, with a fresh series of attempts."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if not can_proceed(message.retry_now):
        raise ValidationError(
            _("Only failed messages, or messages waiting for a retry, can be retried."),
            code="not_retryable",
        )
    if message.expires_at and message.expires_at <= timezone.now():
        raise ValidationError(
            _("This message has expired: sending it now would be pointless."),
            code="expired",
        )
    message.retry_now()
    message.save(
        update_fields=[
            "state",
            "attempts",
            "next_attempt_at",
            "failed_at",
            "updated_at",
        ]
    )
    _enqueue_if_due(message)
    return message


def render_message(
    *, channel: str, template: str, context: Mapping[str, Any], language: str
) -> Rendered:
    """Render a message as its recipient would get it (previews and template tests).

    Raises `DeliveryError` when the result cannot be sent (an SMS too long).
    """
    with translation.override(language):
        return get_channel(channel).render(template=template, context=dict(context))


def _claim(message_id: int, now: datetime) -> Message | None:
    claimed = Message.objects.filter(
        pk=message_id,
        state__in=[State.PENDING, State.QUEUED],
        next_attempt_at__lte=now,
    ).update_returning(
        state=State.SENDING,
        attempts=F("attempts") + 1,
        claimed_at=now,
        claim_token=uuid.uuid4(),
        updated_at=now,
    )
    return claimed[0] if claimed else None


def send_message(*, message_id: int) -> Message | None:
    """Claim a due message, hand it to its channel, record the outcome.

    Runs outside any transaction (the Celery task calls it): the claim must commit
    before the provider is called so that no other worker can claim the row, and
    the outcome commits after. Returns None when there was nothing to send: not
    due, cancelled, already sent, or claimed by another worker.
    """
    message = _claim(message_id, timezone.now())
    if message is None:
        return None
    if message.expires_at and message.expires_at <= timezone.now():
        return _record_failure(
            message,
            DeliveryError(
                "Expired before it could be sent.", code="expired", transient=False
            ),
        )
    try:
        rendered = render_message(
            channel=message.channel,
            template=message.template,
            context=message.context,
            language=message.language,
        )
        provider_id = get_channel(message.channel).deliver(
            to=message.to, rendered=rendered, idempotency_key=message.key
        )
    except DeliveryError as error:
        return _record_failure(message, error)
    except (TemplateDoesNotExist, TemplateSyntaxError, ValidationError) as error:
        return _record_failure(
            message, DeliveryError(str(error), code="render_failed", transient=False)
        )
    except Exception as error:  # an unforeseen failure: retried, then given up
        logger.exception("Unexpected failure sending message %s", message.key)
        return _record_failure(
            message,
            DeliveryError(repr(error), code="unexpected_error", transient=True),
        )
    return _record_success(message, provider_id)


def _record_success(message: Message, provider_id: str) -> Message:
    now = timezone.now()
    # The provider has the message: that is true even if the row was recovered
    # meanwhile (as long as nobody claimed it again), so it is recorded then too.
    recorded = Message.objects.filter(
        pk=message.pk,
        claim_token=message.claim_token,
        state__in=[State.SENDING, State.PENDING, State.QUEUED, State.CANCELLED],
    ).update_returning(
        state=State.SENT,
        sent_at=now,
        provider_id=provider_id[:200],
        error_code="",
        last_error="",
        updated_at=now,
    )
    if recorded:
        return recorded[0]
    logger.warning(
        "Message %s was claimed again while sending; its newer attempt decides.",
        message.key,
    )
    return Message.objects.get(pk=message.pk)


def _record_failure(message: Message, error: DeliveryError) -> Message:
    now = timezone.now()
    mine = Message.objects.filter(
        pk=message.pk, claim_token=message.claim_token, state=State.SENDING
    )
    detail = {"error_code": error.code[:64], "last_error": str(error)[:2000]}
    policy = get_channel(message.channel).retry_policy()
    if error.transient and message.attempts < policy.max_attempts:
        delay = retry_delay(
            attempt=message.attempts,
            key=message.key,
            base_seconds=policy.base_seconds,
            max_seconds=policy.max_seconds,
        )
        recorded = mine.update_returning(
            state=State.PENDING, next_attempt_at=now + delay, updated_at=now, **detail
        )
        logger.info("Message %s will be retried in %s: %s", message.key, delay, error)
    else:
        recorded = mine.update_returning(
            state=State.FAILED, failed_at=now, updated_at=now, **detail
        )
        logger.warning("Message %s failed: %s", message.key, error)
    return recorded[0] if recorded else Message.objects.get(pk=message.pk)


def recover_stalled_messages(*, now: datetime | None = None) -> tuple[int, int]:
    """Put back in line rows whose worker or task was lost; return (recovered, gave_up).

    A row `sending` for longer than the claim timeout belongs to a dead worker:
    the provider may or may not have the message, so it is sent again under the
    same idempotency key (or failed once it has used all its attempts). A row
    `queued` for longer than the queue timeout lost its task (Redis restarted).
    """
    now = now or timezone.now()
    stalled = Message.objects.filter(
        state=State.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.NOTIFICATIONS_CLAIM_TIMEOUT),
    )
    interrupted = {
        "error_code": "interrupted",
        "last_error": "The worker stopped while sending; sent again after a delay.",
        "updated_at": now,
    }
    gave_up = 0
    for name in channel_names():
        limit = get_channel(name).retry_policy().max_attempts
        gave_up += stalled.filter(channel=name, attempts__gte=limit).update(
            state=State.FAILED, failed_at=now, **interrupted
        )
    # Its next attempt time has passed already (it was claimed): due at once.
    recovered = stalled.update(state=State.PENDING, **interrupted)
    recovered += Message.objects.filter(
        state=State.QUEUED,
        queued_at__lt=now - timedelta(seconds=settings.NOTIFICATIONS_QUEUE_TIMEOUT),
    ).update(state=State.PENDING, updated_at=now)
    if recovered or gave_up:
        logger.warning(
            "Outbox recovery: %s back in line, %s failed", recovered, gave_up
        )
    return recovered, gave_up


def enqueue_due_messages(*, now: datetime | None = None) -> int:
    """Mark due rows queued and enqueue one task each after commit; return the count.

    Rows are taken in batches with SKIP LOCKED, so concurrent sweeps share the
    work instead of enqueuing the same rows. At most `NOTIFICATIONS_MAX_QUEUED`
    rows wait in the broker: a backlog larger than the workers can drain before
    the queue timeout stays in PostgreSQL instead of being enqueued twice.
    """
    now = now or timezone.now()
    room = (
        settings.NOTIFICATIONS_MAX_QUEUED
        - Message.objects.filter(state=State.QUEUED).count()
    )
    total = 0
    while room > 0:
        batch = min(settings.NOTIFICATIONS_SWEEP_BATCH, room)
        with transaction.atomic():
            ids = list(
                Message.objects.due(now=now)
                .select_for_update(skip_locked=True)
                .order_by("next_attempt_at")
                .values_list("pk", flat=True)[:batch]
            )
            if ids:
                Message.objects.filter(pk__in=ids).update(
                    state=State.QUEUED, queued_at=now, updated_at=now
                )
                for pk in ids:
                    tasks.send_message.delay_on_commit(pk)
        total += len(ids)
        room -= len(ids)
        if len(ids) < batch:
            break
    return total


def sweep_outbox(*, now: datetime | None = None) -> SweepReport:
    """The periodic pass: recover rows left in flight, then enqueue due rows."""
    recovered, gave_up = recover_stalled_messages(now=now)
    enqueued = enqueue_due_messages(now=now)
    return SweepReport(recovered=recovered, gave_up=gave_up, enqueued=enqueued)


@transaction.atomic
def record_delivery_status(
    *, channel: str, provider_id: str, delivered: bool, error: str = ""
) -> Message:
    """Record a provider's delivery report; repeated reports change nothing.

    Raises `Message.DoesNotExist` for an unknown provider id.
    """
    message = (
        Message.objects.select_for_update()
        .filter(channel=channel, provider_id=provider_id)
        .order_by("-pk")
        .first()
    )
    if message is None:
        raise Message.DoesNotExist(provider_id)
    if delivered and can_proceed(message.mark_delivered):
        message.mark_delivered()
        message.save(update_fields=["state", "delivered_at", "updated_at"])
    elif not delivered and can_proceed(message.mark_undelivered):
        message.mark_undelivered(
            error_code="undelivered", error=error[:2000] or "Reported undelivered."
        )
        message.save(
            update_fields=[
                "state",
                "failed_at",
                "error_code",
                "last_error",
                "updated_at",
            ]
        )
    return message
