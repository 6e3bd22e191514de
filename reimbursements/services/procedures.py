"""Administrative procedures: paperwork with an owner and a deadline."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from conciergerie.accounts.models import User
from conciergerie.notifications.models import Message
from conciergerie.notifications.services import (
    message_key,
    schedule_message,
    subject_for,
)
from patients.models import Patient

from ..models import AdministrativeProcedure, Claim


@transaction.atomic
def open_procedure(
    *,
    kind: AdministrativeProcedure.Kind,
    title: str,
    owner: User,
    due_on: dt.date,
    patient: Patient | None = None,
    claim: Claim | None = None,
    notes: str = "",
) -> AdministrativeProcedure:
    """Open a procedure owned by a staff member; its deadline may not be past."""
    if not owner.is_staff:
        raise ValidationError(
            {
                "owner": ValidationError(
                    _("The owner must be a member of the concierge team."),
                    code="owner_not_staff",
                )
            }
        )
    if due_on < timezone.localdate():
        raise ValidationError(
            {
                "due_on": ValidationError(
                    _("The due date is already past."), code="due_date_past"
                )
            }
        )
    procedure = AdministrativeProcedure(
        kind=kind,
        title=title,
        owner=owner,
        due_on=due_on,
        patient=patient,
        claim=claim,
        notes=notes,
    )
    # A protected FSM field refuses the assignment clean_fields() would make.
    procedure.full_clean(exclude=["status"])
    procedure.save()
    return procedure


def _locked(procedure: AdministrativeProcedure) -> AdministrativeProcedure:
    return AdministrativeProcedure.objects.select_for_update().get(pk=procedure.pk)


@transaction.atomic
def start_procedure(*, procedure: AdministrativeProcedure) -> AdministrativeProcedure:
    """Work begins (again, after a third party answered)."""
    procedure = _locked(procedure)
    if not can_proceed(procedure.start):
        raise ValidationError(
            _("This procedure cannot be started now."), code="not_startable"
        )
    procedure.start(at=timezone.now())
    procedure.save(update_fields=["status", "started_at", "updated_at"])
    return procedure


@transaction.atomic
def wait_on_third_party(
    *, procedure: AdministrativeProcedure
) -> AdministrativeProcedure:
    """The file was sent to the CPAM, the mutuelle or a doctor; their answer is due."""
    procedure = _locked(procedure)
    if not can_proceed(procedure.wait):
        raise ValidationError(
            _("Only a procedure in progress can wait for a third party."),
            code="not_in_progress",
        )
    procedure.wait()
    procedure.save(update_fields=["status", "updated_at"])
    return procedure


@transaction.atomic
def complete_procedure(
    *, procedure: AdministrativeProcedure
) -> AdministrativeProcedure:
    """The procedure reached its end (approval received, membership changed…)."""
    procedure = _locked(procedure)
    if not can_proceed(procedure.complete):
        raise ValidationError(
            _("This procedure is already closed."), code="already_closed"
        )
    procedure.complete(at=timezone.now())
    procedure.save(update_fields=["status", "completed_at", "updated_at"])
    return procedure


@transaction.atomic
def cancel_procedure(
    *, procedure: AdministrativeProcedure, reason: str
) -> AdministrativeProcedure:
    """Drop a procedure that is no longer needed; the reason is kept."""
    if not reason.strip():
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("Give the reason of the cancellation."), code="reason_required"
                )
            }
        )
    procedure = _locked(procedure)
    if not can_proceed(procedure.cancel):
        raise ValidationError(
            _("This procedure is already closed."), code="already_closed"
        )
    procedure.cancel(at=timezone.now(), reason=reason.strip())
    procedure.save(
        update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"]
    )
    return procedure


REMINDER_TEMPLATE = "reimbursements/email/procedure_reminder"


def remind_procedure_deadlines(*, today: dt.date | None = None) -> int:
    """Email each owner once when a procedure nears its deadline, once when late.

    The outbox key names the procedure, the stage and the due date, so running
    this twice a day sends nothing twice, and a moved deadline is reminded again.
    The message names no patient and no kind of procedure: only a link.
    """
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=settings.PROCEDURE_REMINDER_DAYS)
    due = (
        AdministrativeProcedure.objects.open()
        .filter(due_on__lte=horizon)
        .select_related("owner")
    )
    scheduled = 0
    for procedure in due:
        stage = "overdue" if procedure.due_on < today else "due-soon"
        key = message_key(
            subject=subject_for(procedure),
            kind=f"{stage}-{procedure.due_on.isoformat()}",
            channel="email",
        )
        if Message.objects.filter(key=key).exists():
            continue
        owner = procedure.owner
        schedule_message(
            key=key,
            channel="email",
            to=owner.email,
            template=REMINDER_TEMPLATE,
            context={
                "first_name": owner.first_name,
                "overdue": stage == "overdue",
                "due_on": procedure.due_on.strftime("%d/%m/%Y"),
                "link": settings.SITE_URL
                + reverse(
                    "admin:reimbursements_administrativeprocedure_change",
                    args=[procedure.pk],
                ),
            },
            due_at=timezone.now(),
            language=getattr(owner, "language", "") or settings.LANGUAGE_CODE,
            user=owner,
            subject=subject_for(procedure),
        )
        scheduled += 1
    return scheduled
