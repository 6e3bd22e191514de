"""Chasing payers that do not answer: an email to them, a task for the concierge.

A claim waits for an answer from the moment it is sent (again when acknowledged
or appealed). After `REIMBURSEMENT_CHASE_DAYS[payer]` days without one, and again
after each further such period, up to `REIMBURSEMENT_CHASE_MAX_STAGES` times, the
payer gets an email (when its claims address is known) and the concierge in
charge a follow-up task. A claim paid, rejected or closed is never chased.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Claim, ClaimChase, ClaimEvent
from .claims import _event, _follow_up_task, email_payer

CHASE_TEMPLATE = "reimbursements/email/claim_chase"

logger = logging.getLogger(__name__)


def chase_delay(payer: str) -> dt.timedelta:
    return dt.timedelta(days=int(settings.REIMBURSEMENT_CHASE_DAYS[payer]))


def chase_unanswered_claims(*, now: dt.datetime | None = None) -> int:
    """Chase every claim whose payer is late; return how many were chased.

    Safe to run twice, or on two workers at once: each (claim, wait, stage) is
    chased once, and its email has a key of its own in the outbox.
    """
    now = now or timezone.now()
    chased = 0
    for payer in settings.REIMBURSEMENT_CHASE_DAYS:
        late = (
            Claim.objects.awaiting_answer()
            .filter(payer=payer, awaiting_since__lte=now - chase_delay(payer))
            .order_by("awaiting_since")
            .values_list("pk", flat=True)
        )
        for claim_id in late:
            try:
                if chase_claim(claim_id=claim_id, now=now):
                    chased += 1
            except ValidationError:
                # One claim in an odd state must not stop the others being chased;
                # its own chase rolled back and is tried again on the next run.
                logger.exception("Claim %s could not be chased", claim_id)
    return chased


@transaction.atomic
def chase_claim(*, claim_id: int, now: dt.datetime | None = None) -> bool:
    """Chase one claim if its next stage is due; False when there is nothing to do."""
    now = now or timezone.now()
    claim = (
        Claim.objects.select_for_update(skip_locked=True)
        .awaiting_answer()
        .select_related("patient", "owner")
        .filter(pk=claim_id)
        .first()
    )
    if claim is None or claim.awaiting_since is None:
        return False  # answered meanwhile, or another worker holds it
    stage = claim.chases.filter(waiting_since=claim.awaiting_since).count() + 1
    if stage > settings.REIMBURSEMENT_CHASE_MAX_STAGES:
        return False
    if now < claim.awaiting_since + chase_delay(claim.payer) * stage:
        return False
    try:
        with transaction.atomic():
            chase = ClaimChase.objects.create(
                claim=claim,
                waiting_since=claim.awaiting_since,
                stage=stage,
                emailed_to=claim.payer_email,
            )
    except IntegrityError:
        return False
    if claim.payer_email:
        email_payer(
            claim,
            # The wait's start to the microsecond: an acknowledgement in the same
            # second as the sending still begins a wait of its own.
            kind=f"chase-{claim.awaiting_since:%Y%m%dT%H%M%S%f}-{stage}",
            template=CHASE_TEMPLATE,
            extra={
                "stage": stage,
                "sent_on": timezone.localtime(claim.sent_at).strftime("%d/%m/%Y")
                if claim.sent_at
                else "",
                "waiting_days": (now - claim.awaiting_since).days,
            },
        )
    chase.procedure = _follow_up_task(
        claim,
        title=_("Chase %(payer)s about claim %(reference)s (reminder %(stage)s)")
        % {"payer": claim.payer_label, "reference": claim.reference, "stage": stage},
        days=settings.REIMBURSEMENT_FOLLOW_UP_DAYS,
    )
    chase.save(update_fields=["procedure", "updated_at"])
    _event(
        claim,
        kind=ClaimEvent.Kind.CHASED,
        by=None,
        comment=_("Reminder %(stage)s, by email to %(email)s")
        % {"stage": stage, "email": claim.payer_email}
        if claim.payer_email
        else _("Reminder %(stage)s, by the concierge") % {"stage": stage},
    )
    return True
