"""Races between connections: rows committed for real, threads as workers."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from conciergerie.notifications import services
from conciergerie.notifications.models import Message
from tests.notifications.factories import make_due, schedule

State = Message.State


@pytest.mark.usefixtures("committed_db")
def test_two_transactions_racing_on_one_key_make_one_row():
    barrier = threading.Barrier(2)
    results, errors = [], []

    def attempt(number: int) -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=5)
                message = schedule(
                    key="appointments.appointment:9:confirmation:email",
                    channel="email",
                    to=f"racer{number}@example.fr",
                )
                results.append(message.pk)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(results)) == 1
    assert Message.objects.count() == 1


@pytest.mark.usefixtures("committed_db")
def test_two_workers_claiming_the_same_row_at_once_one_wins():
    for round_ in range(10):
        message = schedule(key=f"race:{round_}:notice:sms")
        make_due(message)
        barrier = threading.Barrier(2)
        winners = []

        def claim(message_id=message.pk, barrier=barrier, winners=winners) -> None:
            try:
                barrier.wait(timeout=5)
                claimed = services._claim(message_id, timezone.now())
                winners.append(claimed is not None)
            finally:
                connection.close()

        threads = [threading.Thread(target=claim) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(winners) == [False, True]
        message.refresh_from_db()
        assert message.state == State.SENDING
        assert message.attempts == 1


@pytest.mark.usefixtures("committed_db")
def test_concurrent_tasks_for_one_message_reach_the_provider_once(fake_sms):
    fake_sms.latency = 0.2  # the winner is still talking to the provider
    message = schedule()
    make_due(message)
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait(timeout=5)
            services.send_message(message_id=message.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    message.refresh_from_db()
    assert message.state == State.SENT
    assert len(fake_sms.attempts) == 1
