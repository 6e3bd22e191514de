"""Reimbursement services: estimates, the yearly participation cap, procedures."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
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

from . import tariffs
from .engine import (
    ZERO,
    ActInput,
    ContractInput,
    ContributionKind,
    Estimate,
    EstimateInput,
    PatientInput,
    PractitionerInput,
    compute_estimate,
)
from .models import Act, AdministrativeProcedure, RecordedAct

# --- Estimates ----------------------------------------------------------------------


def estimate_for(
    *,
    act: ActInput,
    practitioner: PractitionerInput,
    patient: PatientInput,
    contract: ContractInput | None = None,
) -> Estimate:
    """Estimate one act with the tariffs, rates and thresholds in force on its date."""
    rules = tariffs.rules_for(
        code=act.code, sector=practitioner.sector, on=act.performed_on
    )
    return compute_estimate(
        EstimateInput(
            act=act, practitioner=practitioner, patient=patient, contract=contract
        ),
        rules,
    )


def participation_paid(
    *,
    patient: Patient,
    year: int,
    kind: ContributionKind = ContributionKind.PARTICIPATION_FORFAITAIRE,
) -> Decimal:
    """The flat contributions already deducted for the patient in a calendar year."""
    total = (
        RecordedAct.objects.for_patient_in_year(patient, year)
        .filter(contribution_kind=kind)
        .aggregate(total=Sum("participation"))["total"]
    )
    return total or ZERO


def _lock_patient_year(patient: Patient, year: int) -> None:
    # Two acts recorded at once must not both see room under the yearly cap: a
    # transaction-scoped advisory lock serialises them per patient and year.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"reimbursements.participation:{patient.pk}:{year}"],
        )


@transaction.atomic
def record_act(
    *,
    patient: Patient,
    act: ActInput,
    practitioner: PractitionerInput,
    situation: PatientInput,
    contract: ContractInput | None = None,
    by: User | None = None,
) -> tuple[RecordedAct, Estimate]:
    """Record an act the patient received, its participation counted within the cap.

    `situation` is the patient as the engine sees them for this visit (pathway,
    ALD, age); the participation already paid is read from the recorded acts,
    whatever the caller says.
    """
    if patient is None or patient._state.adding:
        raise ValidationError(_("A patient file is required."), code="patient_required")
    year = act.performed_on.year
    _lock_patient_year(patient, year)
    act_row = Act.objects.filter(code=act.code).first()
    rules = tariffs.rules_for(
        code=act.code, sector=practitioner.sector, on=act.performed_on
    )
    kind = rules.contribution.kind if rules.contribution else ""
    paid = (
        participation_paid(patient=patient, year=year, kind=ContributionKind(kind))
        if kind
        else ZERO
    )
    situation = dataclasses.replace(situation, participation_paid_this_year=paid)
    estimate = compute_estimate(
        EstimateInput(
            act=act, practitioner=practitioner, patient=situation, contract=contract
        ),
        rules,
    )
    recorded = RecordedAct(
        patient=patient,
        act=act_row,
        performed_on=act.performed_on,
        sector=practitioner.sector,
        fee=estimate.fee,
        base=estimate.base,
        amo=estimate.amo,
        amc=estimate.amc,
        out_of_pocket=estimate.out_of_pocket,
        contribution_kind=kind,
        participation=estimate.participation,
        recorded_by=by,
    )
    recorded.full_clean()
    recorded.save()
    return recorded, estimate


# --- Administrative procedures ------------------------------------------------------


@transaction.atomic
def open_procedure(
    *,
    kind: AdministrativeProcedure.Kind,
    title: str,
    owner: User,
    due_on: dt.date,
    patient: Patient | None = None,
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
