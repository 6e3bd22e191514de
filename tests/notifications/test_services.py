from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from conciergerie.notifications import services
from conciergerie.notifications.backends import LocmemSmsBackend
from conciergerie.notifications.models import Message
from tests.notifications.factories import MessageFactory, make_due, schedule

pytestmark = pytest.mark.django_db

State = Message.State


def due_now(**overrides) -> Message:
    return schedule(due_at=timezone.now() - timedelta(seconds=1), **overrides)


# --- Scheduling ---------------------------------------------------------------


def test_scheduling_the_same_key_twice_returns_the_first_row():
    first = schedule(key="appointments.appointment:7:reminder:sms")

    second = schedule(key="appointments.appointment:7:reminder:sms", to="+33700000000")

    assert second.pk == first.pk
    assert second.to == "+33612345678"
    assert Message.objects.count() == 1


def test_a_scheduled_message_rolls_back_with_its_transaction():
    def book_then_fail() -> None:
        with transaction.atomic():
            schedule(key="appointments.appointment:8:reminder:sms")
            raise RuntimeError("the booking failed")

    with pytest.raises(RuntimeError):
        book_then_fail()

    assert not Message.objects.exists()


def test_a_future_message_waits_for_its_time():
    message = schedule()

    assert message.state == State.PENDING
    assert message.next_attempt_at == message.due_at
    assert services.send_message(message_id=message.pk) is None
    assert LocmemSmsBackend.outbox == []


def test_a_message_due_now_is_sent_once_the_transaction_commits(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = due_now()
        assert message.state == State.QUEUED
        assert LocmemSmsBackend.outbox == []

    message.refresh_from_db()
    assert len(callbacks) == 1
    assert message.state == State.SENT
    assert message.attempts == 1
    assert message.provider_id == "locmem-1"
    assert message.sent_at is not None
    [sms] = LocmemSmsBackend.outbox
    assert sms.to == "+33612345678"
    assert sms.idempotency_key == message.key


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"key": "no spaces allowed"}, "invalid_key"),
        ({"key": ""}, "invalid_key"),
        ({"channel": "pigeon"}, "unknown_channel"),
        ({"channel": "sms", "to": "0612345678"}, "invalid_recipient"),
        ({"channel": "email", "to": "not-an-address"}, "invalid_recipient"),
        ({"template": "notifications/missing"}, "unknown_template"),
        ({"language": "de"}, "unknown_language"),
        ({"due_at": timezone.datetime(2030, 1, 1, 9, 0)}, "naive_datetime"),  # noqa: DTZ001
        ({"context": {"diagnosis": "asthma"}}, "medical_content"),
        ({"context": {"visit": {"Reason": "back pain"}}}, "medical_content"),
        ({"context": {"visits": [{"symptoms": "fever"}]}}, "medical_content"),
        ({"context": {"when": object()}}, "invalid_context"),
    ],
)
def test_a_message_that_cannot_be_sent_is_refused_when_scheduled(overrides, code):
    with pytest.raises(ValidationError) as caught:
        schedule(**overrides)

    assert caught.value.code == code
    assert not Message.objects.exists()


def spec(number: int, **overrides) -> services.MessageSpec:
    fields = {
        "key": f"test.batch:{number}:notice:sms",
        "subject": f"test.batch:{number}",
        "channel": "sms",
        "to": "+33612345678",
        "template": "notifications/notice",
        "context": {"first_name": "Camille", "link": "https://example.fr/m/1"},
        "due_at": timezone.now() + timedelta(hours=number),
        "language": "fr",
    }
    return services.MessageSpec(**{**fields, **overrides})


def test_a_batch_is_scheduled_in_three_queries_whatever_its_size(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    already = schedule(key="test.batch:0:notice:sms")
    due = timezone.now() - timedelta(seconds=1)
    specs = [spec(0), spec(1, due_at=due), *(spec(number) for number in range(2, 7))]

    with (
        django_capture_on_commit_callbacks() as callbacks,
        django_assert_num_queries(3),
    ):
        messages = services.schedule_messages(specs)

    assert [message.key for message in messages] == [item.key for item in specs]
    assert messages[0].pk == already.pk
    assert [message.state for message in messages[1:]] == [State.QUEUED] + [
        State.PENDING
    ] * 5
    assert messages[1].queued_at is not None
    # Only the message due now is enqueued, once the transaction commits.
    assert len(callbacks) == 1
    assert Message.objects.count() == 7


def test_one_invalid_message_schedules_none_of_its_batch():
    with pytest.raises(ValidationError) as caught:
        services.schedule_messages(
            [spec(1), spec(2, context={"diagnosis": "asthma"}), spec(3)]
        )

    assert caught.value.code == "medical_content"
    assert not Message.objects.exists()


def test_a_key_given_twice_in_a_batch_makes_one_row():
    first, second = services.schedule_messages([spec(1), spec(1, to="+33700000000")])

    assert first.pk == second.pk
    assert first.to == "+33612345678"
    assert Message.objects.count() == 1


def test_keys_and_subjects_are_built_from_the_object():
    user = MessageFactory().user
    from conciergerie.accounts.models import User

    someone = User.objects.create_user("someone@example.fr")
    subject = services.subject_for(someone)

    assert user is None
    assert subject == f"accounts.user:{someone.pk}"
    assert services.message_key(subject=subject, kind="welcome", channel="email") == (
        f"accounts.user:{someone.pk}:welcome:email"
    )


# --- The claim ----------------------------------------------------------------


def test_a_message_is_claimed_once_then_nothing_is_left_to_send():
    message = due_now()

    first = services.send_message(message_id=message.pk)
    second = services.send_message(message_id=message.pk)

    assert first.state == State.SENT
    assert second is None
    assert len(LocmemSmsBackend.attempts) == 1


def test_a_cancelled_message_whose_task_arrives_late_is_not_sent():
    message = due_now()
    services.cancel_messages(subject=message.subject)

    assert services.send_message(message_id=message.pk) is None
    assert LocmemSmsBackend.attempts == []


def test_an_unknown_id_is_nothing_to_send():
    assert services.send_message(message_id=987654321) is None


# --- Failures, retries, giving up ----------------------------------------------


def test_a_transient_failure_is_retried_later_with_backoff(fake_sms, settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    fake_sms.fail_next(503)
    message = due_now()
    before = timezone.now()

    message = services.send_message(message_id=message.pk)

    assert message.state == State.PENDING
    assert message.attempts == 1
    assert message.error_code == "sms_transient"
    assert "503" in message.last_error
    wait = message.next_attempt_at - before
    assert timedelta(seconds=60) <= wait <= timedelta(seconds=76)
    assert services.send_message(message_id=message.pk) is None  # not due yet


def test_the_delay_doubles_at_each_failed_attempt(fake_sms, settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 10
    fake_sms.fail_next(503, 503, 503)
    message = due_now()
    waits = []

    for _ in range(3):
        before = timezone.now()
        message = services.send_message(message_id=message.pk)
        waits.append((message.next_attempt_at - before).total_seconds())
        make_due(message)

    assert [round(wait / waits[0]) for wait in waits] == [1, 2, 4]
    message = services.send_message(message_id=message.pk)
    assert message.state == State.SENT
    assert message.attempts == 4
    assert message.error_code == ""


def test_a_message_is_given_up_after_the_maximum_attempts(fake_sms, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    fake_sms.fail_next(503, 503, 503, 503)
    message = due_now()

    for _ in range(3):
        message = services.send_message(message_id=message.pk)
        make_due(message)

    message.refresh_from_db()
    assert message.state == State.FAILED
    assert message.attempts == 3
    assert message.failed_at is not None
    assert message.error_code == "sms_transient"
    assert services.send_message(message_id=message.pk) is None
    assert len(fake_sms.attempts) == 3


def test_a_permanent_failure_fails_at_once(fake_sms):
    fake_sms.fail_next(400)
    message = due_now()

    message = services.send_message(message_id=message.pk)

    assert message.state == State.FAILED
    assert message.attempts == 1
    assert message.error_code == "sms_refused"


def test_an_expired_message_is_not_sent():
    message = due_now(expires_at=timezone.now() - timedelta(seconds=1))

    message = services.send_message(message_id=message.pk)

    assert message.state == State.FAILED
    assert message.error_code == "expired"
    assert LocmemSmsBackend.attempts == []


def test_an_sms_longer_than_two_segments_fails_visibly():
    message = due_now(context={"link": "https://example.fr/" + "x" * 300})

    message = services.send_message(message_id=message.pk)

    assert message.state == State.FAILED
    assert message.error_code == "sms_too_long"
    assert LocmemSmsBackend.attempts == []


def test_an_unexpected_error_is_retried_like_a_transient_one(monkeypatch):
    def explode(**kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(
        "conciergerie.notifications.backends.LocmemSmsBackend.send",
        lambda self, message: explode(),
    )
    message = due_now()

    message = services.send_message(message_id=message.pk)

    assert message.state == State.PENDING
    assert message.error_code == "unexpected_error"


# --- Recovery -----------------------------------------------------------------


def test_a_row_left_sending_by_a_dead_worker_is_put_back_in_line(settings):
    settings.NOTIFICATIONS_CLAIM_TIMEOUT = 60
    message = due_now()
    services._claim(message.pk, timezone.now())

    recovered_early = services.recover_stalled_messages(
        now=timezone.now() + timedelta(seconds=30)
    )
    recovered = services.recover_stalled_messages(
        now=timezone.now() + timedelta(seconds=61)
    )

    message.refresh_from_db()
    assert recovered_early == (0, 0)
    assert recovered == (1, 0)
    assert message.state == State.PENDING
    assert message.error_code == "interrupted"
    assert services.send_message(message_id=message.pk).state == State.SENT


def test_a_row_whose_task_was_lost_is_enqueued_again(
    settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_QUEUE_TIMEOUT = 60
    message = due_now()  # queued; its task never ran (Redis restarted)
    later = timezone.now() + timedelta(seconds=61)

    with django_capture_on_commit_callbacks(execute=True):
        report = services.sweep_outbox(now=later)

    message.refresh_from_db()
    assert report == services.SweepReport(recovered=1, gave_up=0, enqueued=1)
    assert message.state == State.SENT
    assert len(LocmemSmsBackend.outbox) == 1


def test_a_row_that_keeps_killing_its_worker_is_eventually_failed(settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    settings.NOTIFICATIONS_CLAIM_TIMEOUT = 60
    message = due_now()
    for _ in range(2):
        make_due(message)
        services._claim(message.pk, timezone.now())
        services.recover_stalled_messages(now=timezone.now() + timedelta(seconds=61))

    message.refresh_from_db()
    assert message.state == State.FAILED
    assert message.error_code == "interrupted"
    assert message.attempts == 2


def test_a_crash_after_the_provider_accepted_does_not_reach_the_phone_twice(
    fake_sms, monkeypatch, settings
):
    settings.NOTIFICATIONS_CLAIM_TIMEOUT = 60
    message = due_now()
    real_record = services._record_success

    def die(*args, **kwargs):
        raise SystemExit("worker killed between the provider call and the record")

    monkeypatch.setattr(services, "_record_success", die)
    with pytest.raises(SystemExit):
        services.send_message(message_id=message.pk)
    monkeypatch.setattr(services, "_record_success", real_record)
    message.refresh_from_db()
    assert message.state == State.SENDING

    services.recover_stalled_messages(now=timezone.now() + timedelta(seconds=61))
    message = services.send_message(message_id=message.pk)

    assert message.state == State.SENT
    assert message.attempts == 2
    assert fake_sms.delivery_counts() == {message.key: 2}  # two calls on the wire
    assert list(fake_sms.delivered) == [message.key]  # one SMS on the phone
    assert message.provider_id == fake_sms.delivered[message.key]["id"]


def test_the_late_outcome_of_a_superseded_attempt_is_ignored(settings):
    settings.NOTIFICATIONS_CLAIM_TIMEOUT = 60
    message = due_now()
    stale = services._claim(message.pk, timezone.now())
    services.recover_stalled_messages(now=timezone.now() + timedelta(seconds=61))
    fresh = services._claim(message.pk, timezone.now())
    assert fresh.claim_token != stale.claim_token

    services._record_failure(
        stale,
        services.DeliveryError("late", code="sms_refused", transient=False),
    )

    message.refresh_from_db()
    assert message.state == State.SENDING
    assert message.claim_token == fresh.claim_token
    assert message.error_code == "interrupted"


def test_a_late_success_is_kept_if_nobody_claimed_the_row_again(settings):
    settings.NOTIFICATIONS_CLAIM_TIMEOUT = 60
    message = due_now()
    slow = services._claim(message.pk, timezone.now())
    services.recover_stalled_messages(now=timezone.now() + timedelta(seconds=61))

    services._record_success(slow, "provider-42")

    message.refresh_from_db()
    assert message.state == State.SENT
    assert message.provider_id == "provider-42"
    assert services.send_message(message_id=message.pk) is None


# --- The sweep ----------------------------------------------------------------


def test_the_sweep_enqueues_due_rows_only(django_capture_on_commit_callbacks):
    due = [schedule() for _ in range(3)]
    later = schedule()
    for message in due:
        make_due(message)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = services.sweep_outbox()

    assert report.enqueued == 3
    assert len(callbacks) == 3
    assert set(Message.objects.values_list("state", flat=True)) == {
        State.SENT,
        State.PENDING,
    }
    later.refresh_from_db()
    assert later.state == State.PENDING


def test_the_sweep_works_through_a_backlog_in_batches(
    settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_SWEEP_BATCH = 2
    for _ in range(5):
        make_due(schedule())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = services.sweep_outbox()

    assert report.enqueued == 5
    assert len(callbacks) == 5
    assert Message.objects.filter(state=State.QUEUED).count() == 5


def test_the_broker_never_holds_more_than_the_queue_limit(
    settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_MAX_QUEUED = 3
    settings.NOTIFICATIONS_SWEEP_BATCH = 2
    for _ in range(5):
        make_due(schedule())

    with django_capture_on_commit_callbacks(execute=False) as first_sweep:
        first = services.sweep_outbox()
    for message in Message.objects.filter(state=State.QUEUED):
        services.send_message(message_id=message.pk)
    with django_capture_on_commit_callbacks(execute=False):
        second = services.sweep_outbox()

    assert (first.enqueued, len(first_sweep)) == (3, 3)
    assert second.enqueued == 2
    assert Message.objects.filter(state=State.SENT).count() == 3


# --- Cancelling and retrying ----------------------------------------------------


def test_cancelling_an_object_cancels_its_messages_not_yet_sent():
    subject = "appointments.appointment:42"
    pending = schedule(subject=subject, key=f"{subject}:reminder:sms")
    queued = due_now(subject=subject, key=f"{subject}:confirmation:sms")
    sent = due_now(subject=subject, key=f"{subject}:reminder-7d:sms")
    services.send_message(message_id=sent.pk)
    other = schedule(subject="appointments.appointment:43")

    count = services.cancel_messages(subject=subject)

    assert count == 2
    states = dict(Message.objects.values_list("pk", "state"))
    assert states[pending.pk] == State.CANCELLED
    assert states[queued.pk] == State.CANCELLED
    assert states[sent.pk] == State.SENT
    assert states[other.pk] == State.PENDING


def test_cancelling_can_spare_some_templates():
    subject = "appointments.appointment:44"
    reminder = schedule(subject=subject, key=f"{subject}:reminder:sms")

    count = services.cancel_messages(
        subject=subject, templates=["appointments/cancelled"]
    )

    reminder.refresh_from_db()
    assert count == 0
    assert reminder.state == State.PENDING


def test_staff_can_cancel_a_waiting_message_but_not_a_sent_one():
    waiting = schedule()
    sent = services.send_message(message_id=due_now().pk)

    services.cancel_message(message=waiting)
    with pytest.raises(ValidationError) as caught:
        services.cancel_message(message=sent)

    waiting.refresh_from_db()
    assert waiting.state == State.CANCELLED
    assert waiting.cancelled_at is not None
    assert caught.value.code == "not_cancellable"


def test_retrying_a_failed_message_starts_a_fresh_series_now(
    fake_sms, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    fake_sms.fail_next(503)
    failed = services.send_message(message_id=due_now().pk)
    assert failed.state == State.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        retried = services.retry_message(message=failed)

    retried.refresh_from_db()
    assert retried.state == State.SENT
    assert retried.attempts == 1
    assert len(fake_sms.delivered) == 1


def test_a_message_waiting_for_its_retry_can_be_sent_at_once(fake_sms):
    fake_sms.fail_next(503)
    waiting = services.send_message(message_id=due_now().pk)
    assert waiting.next_attempt_at > timezone.now()

    retried = services.retry_message(message=waiting)

    assert retried.state == State.QUEUED
    assert retried.attempts == 0
    assert services.send_message(message_id=retried.pk).state == State.SENT


def test_a_sent_a_not_yet_due_or_an_expired_message_cannot_be_retried(fake_sms):
    sent = services.send_message(message_id=due_now().pk)
    future = schedule()
    fake_sms.fail_next(400)
    expired = services.send_message(message_id=due_now().pk)
    Message.objects.filter(pk=expired.pk).update(expires_at=timezone.now())

    with pytest.raises(ValidationError) as already_sent:
        services.retry_message(message=sent)
    with pytest.raises(ValidationError) as not_due:
        services.retry_message(message=future)
    with pytest.raises(ValidationError) as too_late:
        services.retry_message(message=expired)

    assert already_sent.value.code == "not_retryable"
    assert not_due.value.code == "not_retryable"
    assert too_late.value.code == "expired"


# --- Delivery reports -----------------------------------------------------------


def test_a_delivery_report_marks_the_message_delivered_once():
    message = services.send_message(message_id=due_now().pk)

    first = services.record_delivery_status(
        channel="sms", provider_id=message.provider_id, delivered=True
    )
    again = services.record_delivery_status(
        channel="sms", provider_id=message.provider_id, delivered=True
    )

    assert first.state == again.state == State.DELIVERED
    assert first.delivered_at == again.delivered_at


def test_an_undelivered_report_fails_the_message_with_its_reason():
    message = services.send_message(message_id=due_now().pk)

    message = services.record_delivery_status(
        channel="sms",
        provider_id=message.provider_id,
        delivered=False,
        error="handset unreachable",
    )

    assert message.state == State.FAILED
    assert message.error_code == "undelivered"
    assert message.last_error == "handset unreachable"


def test_a_report_for_an_unknown_provider_id_raises():
    with pytest.raises(Message.DoesNotExist):
        services.record_delivery_status(
            channel="sms", provider_id="nope", delivered=True
        )


def test_the_delivery_summary_counts_states_and_the_rate(fake_sms):
    fake_sms.fail_next(400)
    failed = services.send_message(message_id=due_now().pk)
    sent = [services.send_message(message_id=due_now().pk) for _ in range(3)]
    services.record_delivery_status(
        channel="sms", provider_id=sent[0].provider_id, delivered=True
    )
    schedule(channel="email")

    summary = {row["channel"]: row for row in Message.objects.delivery_summary()}

    assert failed.state == State.FAILED
    assert summary["sms"]["total"] == 4
    assert summary["sms"]["delivered"] == 1
    assert summary["sms"]["sent"] == 2
    assert summary["sms"]["failed"] == 1
    assert summary["sms"]["rate"] == 75.0
    assert summary["email"]["pending"] == 1
    assert summary["email"]["rate"] is None
