"""Chasing payers that do not answer: once per stage, per-payer delays, never paid."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from conciergerie.notifications.models import Message
from conciergerie.notifications.services import render_message
from reimbursements import services, tasks
from reimbursements.models import (
    AdministrativeProcedure,
    Claim,
    ClaimChase,
    ClaimEvent,
    Payer,
    SendingMethod,
)
from tests.reimbursements.factories import InsurerFactory, sent_claim

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _delays(settings):
    settings.REIMBURSEMENT_CHASE_DAYS = {"amo": 15, "amc": 10}
    settings.REIMBURSEMENT_CHASE_MAX_STAGES = 3


@pytest.fixture
def mutuelle(db):
    return InsurerFactory()


def _chase_emails():
    return Message.objects.filter(template="reimbursements/email/claim_chase")


def _after(claim, days: float):
    return claim.awaiting_since + dt.timedelta(days=days)


def test_a_claim_is_not_chased_before_its_payers_delay(coordinator, mutuelle):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)

    chased = services.chase_unanswered_claims(now=_after(claim, 9.9))

    assert chased == 0
    assert not _chase_emails().exists()
    assert not ClaimChase.objects.exists()


def test_a_late_payer_gets_one_email_and_the_owner_one_task(coordinator, mutuelle):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)

    chased = services.chase_unanswered_claims(now=_after(claim, 10))

    assert chased == 1
    email = _chase_emails().get()
    assert email.to == mutuelle.claims_email
    assert email.context["claim_reference"] == claim.reference
    task = AdministrativeProcedure.objects.get(claim=claim)
    assert (task.kind, task.owner, task.patient) == (
        AdministrativeProcedure.Kind.CLAIM_FOLLOW_UP,
        coordinator,
        claim.patient,
    )
    chase = ClaimChase.objects.get()
    assert (chase.stage, chase.procedure, chase.emailed_to) == (
        1,
        task,
        mutuelle.claims_email,
    )
    event = claim.events.order_by("-pk").first()
    assert (event.kind, event.public, event.by) == (ClaimEvent.Kind.CHASED, True, None)
    rendered = render_message(
        channel="email", template=email.template, context=email.context, language="fr"
    )
    assert "attend une réponse depuis 10 jours" in rendered.text
    assert claim.reference in rendered.subject


def test_running_the_chase_again_sends_nothing_twice(coordinator, mutuelle):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    now = _after(claim, 11)

    first = services.chase_unanswered_claims(now=now)
    second = services.chase_unanswered_claims(now=now)
    later_the_same_week = services.chase_unanswered_claims(now=now + 3 * DAY)

    assert (first, second, later_the_same_week) == (1, 0, 0)
    assert _chase_emails().count() == 1
    assert AdministrativeProcedure.objects.filter(claim=claim).count() == 1
    assert claim.events.filter(kind=ClaimEvent.Kind.CHASED).count() == 1


def test_each_further_period_brings_one_more_reminder_up_to_the_maximum(
    coordinator, mutuelle
):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)

    counts = [
        services.chase_unanswered_claims(now=_after(claim, days))
        for days in (10, 15, 20, 25, 30, 40, 90)
    ]

    assert counts == [1, 0, 1, 0, 1, 0, 0]
    assert list(ClaimChase.objects.values_list("stage", flat=True)) == [1, 2, 3]
    assert _chase_emails().count() == 3
    assert len(set(_chase_emails().values_list("key", flat=True))) == 3


def test_delays_are_per_payer(coordinator, mutuelle, settings):
    amc = sent_claim(by=coordinator, payer=Payer.AMC)
    amo = sent_claim(by=coordinator, payer=Payer.AMO)
    now = max(amc.awaiting_since, amo.awaiting_since) + 12 * DAY

    chased = services.chase_unanswered_claims(now=now)

    assert chased == 1
    assert list(ClaimChase.objects.values_list("claim", flat=True)) == [amc.pk]

    settings.REIMBURSEMENT_CHASE_DAYS = {"amo": 5, "amc": 10}
    assert services.chase_unanswered_claims(now=now) == 1
    assert ClaimChase.objects.filter(claim=amo).exists()


def test_the_delays_come_from_the_environment_with_defaults():
    assert django_settings.REIMBURSEMENT_CHASE_DAYS.keys() == {"amo", "amc"}
    assert all(
        isinstance(days, int)
        for days in django_settings.REIMBURSEMENT_CHASE_DAYS.values()
    )


@pytest.mark.parametrize(
    "answer",
    ["pay_in_full", "pay_in_part", "reject", "close"],
)
def test_a_claim_answered_paid_or_closed_is_never_chased(coordinator, mutuelle, answer):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    sent_at = claim.awaiting_since
    if answer == "pay_in_full":
        services.record_claim_payment(claim=claim, by=coordinator, amount=D("37.95"))
    elif answer == "pay_in_part":
        services.record_claim_payment(claim=claim, by=coordinator, amount=D("10"))
    elif answer == "reject":
        services.reject_claim(claim=claim, by=coordinator, reason="Hors garanties")
    else:
        services.close_claim(claim=claim, by=coordinator, comment="Abandon")

    chased = services.chase_unanswered_claims(now=sent_at + 60 * DAY)

    assert chased == 0
    assert not _chase_emails().exists()
    assert not ClaimChase.objects.exists()


def test_a_claim_paid_between_selection_and_chase_is_left_alone(coordinator, mutuelle):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    now = _after(claim, 10)
    services.record_claim_payment(claim=claim, by=coordinator, amount=D("37.95"))

    assert services.chase_claim(claim_id=claim.pk, now=now) is False
    assert not _chase_emails().exists()


def test_an_acknowledgement_starts_a_new_wait_with_its_own_reminders(
    coordinator, mutuelle
):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    services.chase_unanswered_claims(now=_after(claim, 10))
    acknowledged = services.acknowledge_claim(claim=claim, by=coordinator)

    assert services.chase_unanswered_claims(now=_after(acknowledged, 9)) == 0
    assert services.chase_unanswered_claims(now=_after(acknowledged, 10)) == 1

    assert _chase_emails().count() == 2
    stages = list(ClaimChase.objects.order_by("pk").values_list("stage", flat=True))
    assert stages == [1, 1]


def test_without_the_payers_address_only_the_concierge_is_asked(coordinator):
    claim = sent_claim(by=coordinator)  # by post, no insurer in the directory
    assert claim.payer_email == ""

    chased = services.chase_unanswered_claims(now=_after(claim, 10))

    assert chased == 1
    assert not _chase_emails().exists()
    assert AdministrativeProcedure.objects.filter(claim=claim).count() == 1


def test_the_chase_runs_as_a_scheduled_task(coordinator, mutuelle, settings):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    Claim.objects.filter(pk=claim.pk).update(awaiting_since=timezone.now() - 11 * DAY)

    result = tasks.chase_unanswered_claims.delay().get()

    assert result == 1
    entry = settings.CELERY_BEAT_SCHEDULE["reimbursements-chase-unanswered-claims"]
    assert entry["task"] == "reimbursements.tasks.chase_unanswered_claims"


def test_when_the_concierge_left_the_team_a_colleague_gets_the_task(
    coordinator, manager, mutuelle
):
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])

    chased = services.chase_unanswered_claims(now=_after(claim, 10))

    assert chased == 1
    assert AdministrativeProcedure.objects.get(claim=claim).owner == manager
    assert _chase_emails().count() == 1


def test_a_claim_that_cannot_be_chased_does_not_stop_the_others(
    coordinator, mutuelle, monkeypatch
):
    from reimbursements.services import follow_up

    first = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    second = sent_claim(by=coordinator, via=SendingMethod.EMAIL)
    real = follow_up.chase_claim

    def broken_for_the_first(*, claim_id, now):
        if claim_id == first.pk:
            from django.core.exceptions import ValidationError

            raise ValidationError("broken", code="broken")
        return real(claim_id=claim_id, now=now)

    monkeypatch.setattr(follow_up, "chase_claim", broken_for_the_first)

    chased = services.chase_unanswered_claims(now=_after(second, 10))

    assert chased == 1
    assert list(ClaimChase.objects.values_list("claim", flat=True)) == [second.pk]
