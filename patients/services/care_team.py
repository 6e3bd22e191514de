"""Team work around care requests: assignment, messages with the patient, internal
notes, the interaction log, care tasks, care plans, workload and missed deadlines.

Roles: everybody in the back-office works on requests; patients and guardians write
in the thread of their own requests and read what is shared with them.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import STAFF_ROLES

from .. import triage
from ..access import manages
from ..models import (
    CarePlan,
    CarePlanStep,
    CareRequest,
    CareRequestEvent,
    CareRequestMessage,
    CareTask,
    Interaction,
    InternalNote,
    Patient,
    SlaBreach,
    SlaClock,
    any_sla_overdue_condition,
    sla_overdue_condition,
    staff_roles_of,
)
from . import care_requests
from .care_requests import (
    RoleNotAllowed,
    _email,
    _field_error,
    _record_event,
    care_request_admin_url,
    care_request_portal_url,
    mark_first_response,
    patient_contact,
    require_staff,
)
from .registration import assign_staff

MESSAGE_MAX_LENGTH = 5000

_UNSET = object()


def _is_staff_member(user: User | None) -> bool:
    return bool(
        user is not None
        and user.is_active
        and user.is_staff
        and (user.is_superuser or user.roles & STAFF_ROLES)
    )


# --- Assignment -----------------------------------------------------------------------


@transaction.atomic
def assign(
    *,
    care_request: CareRequest,
    to: User | None,
    by: User | None,
    comment: str = "",
    automatic: bool = False,
) -> CareRequest:
    """Put a concierge in charge of a request (or nobody); they are told by email.

    Anyone in the back-office assigns or takes a request. A medical adviser in
    charge also becomes one of the patient's concierges, and so reads the file.
    """
    if not automatic:
        require_staff(by, message=_("Only the team assigns requests."))
    if to is not None and not _is_staff_member(to):
        raise _field_error(
            "assigned_to",
            _("Only back-office staff can be in charge of a request."),
            "not_staff",
        )
    care_request = CareRequest.objects.select_for_update().get(pk=care_request.pk)
    if care_request.assigned_to_id == (to.pk if to else None):
        return care_request
    previous = care_request.assigned_to
    care_request.assigned_to = to
    care_request.assigned_at = timezone.now() if to else None
    care_request.save(update_fields=["assigned_to", "assigned_at", "updated_at"])
    if to is not None and not care_request.patient.is_assigned_to(to):
        assign_staff(patient=care_request.patient, staff=to, by=by or to)
    names = {
        "old": previous.get_full_name() if previous else "—",
        "new": to.get_full_name() if to else "—",
    }
    note = _("%(old)s → %(new)s") % names
    if automatic:
        note = _("%(note)s (the patient's concierge)") % {"note": note}
    _record_event(
        care_request=care_request,
        kind=CareRequestEvent.Kind.ASSIGNMENT,
        by=by,
        comment="\n".join(part for part in (note, comment) if part),
        public=to is not None,
        public_note=(to.first_name or to.get_full_name()) if to else "",
    )
    return care_request


# --- Messages -------------------------------------------------------------------------


@dataclass
class PostedMessage:
    message: CareRequestMessage
    red_flags: list[triage.RedFlagMatch] = field(default_factory=list)


def message_side(user: User, care_request: CareRequest) -> str | None:
    if staff_roles_of(user):
        return CareRequestMessage.Side.CONCIERGE
    if manages(user, care_request.patient):
        return CareRequestMessage.Side.PATIENT
    return None


@transaction.atomic
def post_message(*, care_request: CareRequest, by: User, body: str) -> PostedMessage:
    """Write in the secure thread; the other side gets an email saying a message
    waits, never its text. Red flags in a patient's message raise an emergency."""
    side = message_side(by, care_request)
    if side is None:
        raise RoleNotAllowed(_("You may not write about this request."))
    body = (body or "").strip()
    if not body:
        raise _field_error("body", _("Write your message."), "message_required")
    if len(body) > MESSAGE_MAX_LENGTH:
        raise _field_error(
            "body",
            _("A message has at most %(max)d characters.")
            % {"max": MESSAGE_MAX_LENGTH},
            "message_too_long",
        )
    care_request = CareRequest.objects.select_for_update().get(pk=care_request.pk)
    if side == CareRequestMessage.Side.PATIENT and not care_request.is_open:
        raise ValidationError(
            _("This request is finished: open a new one if you need us."),
            code="request_finished",
        )
    message = CareRequestMessage.objects.create(
        care_request=care_request, side=side, author=by, body=body
    )
    posted = PostedMessage(message)
    if side == CareRequestMessage.Side.CONCIERGE:
        mark_first_response(care_request=care_request, at=message.created_at)
        _notify_patient_of_message(message)
    else:
        _notify_team_of_message(message)
        posted.red_flags = triage.find_red_flags(body)
        if posted.red_flags:
            _raise_from_message(care_request, by=by, flags=posted.red_flags)
    return posted


def _raise_from_message(
    care_request: CareRequest, *, by: User, flags: list[triage.RedFlagMatch]
) -> None:
    labels = ", ".join(str(match.flag.label) for match in flags)
    known = set(care_request.red_flag_codes)
    added = [
        payload
        for payload in care_requests._flags_payload(flags)
        if payload["code"] not in known
    ]
    if added:
        care_request.red_flags = [*(care_request.red_flags or []), *added]
        care_request.save(update_fields=["red_flags", "updated_at"])
    comment = _("Red flags in a message from the patient: %(flags)s.") % {
        "flags": labels
    }
    if care_request.state == CareRequest.State.EMERGENCY:
        _record_event(
            care_request=care_request,
            kind=CareRequestEvent.Kind.MESSAGE,
            by=by,
            to_state=CareRequest.State.EMERGENCY,
            comment=comment,
        )
        return
    care_requests._escalate(care_request=care_request, by=by, comment=comment)


def _notify_patient_of_message(message: CareRequestMessage) -> None:
    care_request = message.care_request
    contact = patient_contact(care_request.patient)
    if contact is None:
        return
    email, language, user = contact
    with translation.override(settings.LANGUAGE_CODE):
        _email(
            about=message,
            kind="notice",
            to=email,
            template="notifications/notice",
            context={
                "first_name": care_request.patient.first_names.split(" ")[0],
                "link": care_request_portal_url(care_request) + "#messages",
            },
            language=language,
            user=user,
        )


def _notify_team_of_message(message: CareRequestMessage) -> None:
    care_request = message.care_request
    assignee = care_request.assigned_to
    to = assignee.email if assignee and assignee.is_active else settings.SERVICE_EMAIL
    with translation.override(settings.LANGUAGE_CODE):
        _email(
            about=message,
            kind="team-notice",
            to=to,
            template="patients/email/care_request_message",
            context={
                "request_reference": care_request.reference,
                "link": care_request_admin_url(care_request),
            },
            language=assignee.language if assignee else settings.LANGUAGE_CODE,
            user=assignee,
        )


def mark_messages_read(*, care_request: CareRequest, by: User) -> int:
    """The reader's side has now seen the other side's messages."""
    side = message_side(by, care_request)
    if side is None:
        return 0
    unread = CareRequestMessage.objects.filter(care_request=care_request)
    unread = (
        unread.unread_by_team()
        if side == CareRequestMessage.Side.CONCIERGE
        else unread.unread_by_patient()
    )
    now = timezone.now()
    return unread.update(read_at=now, updated_at=now)


# --- Notes, interactions --------------------------------------------------------------


@transaction.atomic
def add_internal_note(
    *, care_request: CareRequest, by: User, body: str
) -> InternalNote:
    """A note for the team only: never on the portal, the API or in an email."""
    require_staff(by, message=_("Internal notes are for the team."))
    body = (body or "").strip()
    if not body:
        raise _field_error("body", _("Write the note."), "note_required")
    return InternalNote.objects.create(care_request=care_request, author=by, body=body)


@transaction.atomic
def log_interaction(
    *,
    care_request: CareRequest,
    by: User,
    channel: str,
    direction: str,
    party: str,
    summary: str,
    counterpart: str = "",
    occurred_at: datetime | None = None,
    duration_minutes: int | None = None,
) -> Interaction:
    """Record a call, an email or a contact, so that anyone can pick the file up.

    Talking with the patient stops the first-response clock.
    """
    require_staff(by, message=_("The interaction log is for the team."))
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now():
        raise _field_error(
            "occurred_at", _("This has not happened yet."), "in_the_future"
        )
    interaction = Interaction(
        care_request=care_request,
        channel=channel,
        direction=direction,
        party=party,
        counterpart=(counterpart or "").strip(),
        occurred_at=occurred_at,
        duration_minutes=duration_minutes,
        summary=(summary or "").strip(),
        recorded_by=by,
    )
    interaction.full_clean()
    interaction.save()
    if party == Interaction.Party.PATIENT:
        mark_first_response(care_request=care_request, at=occurred_at)
    return interaction


# --- Care tasks -----------------------------------------------------------------------


def _check_owner(owner: User | None) -> None:
    if owner is not None and not _is_staff_member(owner):
        raise _field_error(
            "owner", _("Only back-office staff can own a task."), "not_staff"
        )


@transaction.atomic
def add_care_task(
    *,
    care_request: CareRequest,
    by: User,
    kind: str,
    title: str,
    details: str = "",
    owner: User | None = None,
    due_at: datetime | None = None,
    shared_with_patient: bool = False,
) -> CareTask:
    """Transport, accommodation, accompaniment, paperwork…: a task with an owner
    and a due date. Open tasks keep the request from closing."""
    require_staff(by, message=_("Care tasks are for the team."))
    _check_owner(owner)
    if not care_request.is_open:
        raise ValidationError(_("This request is finished."), code="request_finished")
    task = CareTask(
        care_request=care_request,
        kind=kind,
        title=(title or "").strip(),
        details=(details or "").strip(),
        owner=owner,
        due_at=due_at,
        shared_with_patient=shared_with_patient,
        created_by=by,
    )
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def update_care_task(
    *,
    task: CareTask,
    by: User,
    status: str | None = None,
    owner=_UNSET,
    due_at=_UNSET,
) -> CareTask:
    """Change a task's status, owner or due date; done tasks record who and when."""
    require_staff(by, message=_("Care tasks are for the team."))
    task = CareTask.objects.select_for_update().get(pk=task.pk)
    fields = ["updated_at"]
    if owner is not _UNSET:
        _check_owner(owner)
        task.owner = owner
        fields.append("owner")
    if due_at is not _UNSET:
        task.due_at = due_at
        fields.append("due_at")
    if status is not None and status != task.status:
        if status not in CareTask.Status.values:
            raise _field_error("status", _("Unknown status."), "invalid_status")
        if not task.is_open:
            raise _field_error(
                "status", _("This task is already finished."), "task_finished"
            )
        task.status = status
        if status == CareTask.Status.DONE:
            task.done_at, task.done_by = timezone.now(), by
        fields += ["status", "done_at", "done_by"]
    task.save(update_fields=fields)
    return task


# --- Care plans -----------------------------------------------------------------------


@transaction.atomic
def save_care_plan(
    *,
    patient: Patient,
    by: User,
    goals: str,
    shared_with_patient: bool = False,
) -> CarePlan:
    """Write the patient's care plan; sharing it tells the patient it is there."""
    require_staff(by, message=_("Care plans are written by the team."))
    plan, _created = CarePlan.objects.select_for_update().get_or_create(patient=patient)
    newly_shared = shared_with_patient and not plan.shared_with_patient
    plan.goals = (goals or "").strip()
    plan.shared_with_patient = shared_with_patient
    if newly_shared:
        plan.shared_at = timezone.now()
    elif not shared_with_patient:
        plan.shared_at = None
    plan.updated_by = by
    plan.save()
    if newly_shared:
        _tell_patient_plan_shared(plan)
    return plan


def _tell_patient_plan_shared(plan: CarePlan) -> None:
    contact = patient_contact(plan.patient)
    if contact is None:
        return
    email, language, user = contact
    with translation.override(settings.LANGUAGE_CODE):
        _email(
            about=plan,
            kind=f"shared@{plan.shared_at:%Y%m%dT%H%M%S}",
            to=email,
            template="patients/email/care_plan_shared",
            context={
                "first_name": plan.patient.first_names.split(" ")[0],
                "link": settings.SITE_URL + plan.get_absolute_url(),
            },
            language=language,
            user=user,
        )


@transaction.atomic
def add_care_plan_step(
    *,
    plan: CarePlan,
    by: User,
    title: str,
    details: str = "",
    planned_for: date | None = None,
    care_request: CareRequest | None = None,
) -> CarePlanStep:
    require_staff(by, message=_("Care plans are written by the team."))
    if care_request is not None and care_request.patient_id != plan.patient_id:
        raise _field_error(
            "care_request",
            _("This request is about another patient."),
            "other_patient",
        )
    position = plan.steps.count() + 1
    step = CarePlanStep(
        plan=plan,
        position=position,
        title=(title or "").strip(),
        details=(details or "").strip(),
        planned_for=planned_for,
        care_request=care_request,
    )
    step.full_clean()
    step.save()
    return step


# --- Workload -------------------------------------------------------------------------


@dataclass
class Workload:
    user: User | None
    open_requests: int = 0
    emergencies: int = 0
    overdue: int = 0
    open_tasks: int = 0
    late_tasks: int = 0
    states: dict[str, int] = field(default_factory=dict)


def workload(*, now: datetime | None = None) -> list[Workload]:
    """Per concierge: open requests (by state), emergencies, overdue, tasks.

    The first line (user None) is what nobody is in charge of yet.
    """
    now = now or timezone.now()
    staff = list(
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=STAFF_ROLES))
        .distinct()
        .order_by("first_name", "last_name", "email")
    )
    rows: dict[int | None, Workload] = {None: Workload(None)}
    rows.update({user.pk: Workload(user) for user in staff})
    requests = (
        CareRequest.objects.open()
        .values("assigned_to", "state")
        .annotate(
            total=Count("pk"),
            overdue=Count("pk", filter=any_sla_overdue_condition(now=now)),
        )
    )
    for row in requests:
        line = rows.get(row["assigned_to"])
        if line is None:
            continue
        line.open_requests += row["total"]
        line.overdue += row["overdue"]
        line.states[row["state"]] = row["total"]
        if row["state"] == CareRequest.State.EMERGENCY:
            line.emergencies += row["total"]
    tasks = (
        CareTask.objects.open()
        .values("owner")
        .annotate(total=Count("pk"), late=Count("pk", filter=Q(due_at__lt=now)))
    )
    for row in tasks:
        line = rows.get(row["owner"])
        if line is not None:
            line.open_tasks += row["total"]
            line.late_tasks += row["late"]
    return list(rows.values())


# --- Missed deadlines -----------------------------------------------------------------

DUE_FIELD: dict[str, str] = {
    SlaClock.FIRST_RESPONSE: "first_response_due_at",
    SlaClock.QUALIFICATION: "qualification_due_at",
    SlaClock.APPOINTMENT: "appointment_due_at",
}


def detect_sla_breaches(*, now: datetime | None = None, limit: int = 500) -> int:
    """Alert once per missed deadline: the concierge in charge, or the one on duty.

    Safe to run twice or in parallel: a unique row per (request, clock, due time)
    decides who alerts, and the outbox key makes one email per breach.
    """
    now = now or timezone.now()
    alerted = 0
    for clock in SlaClock.values:
        due_field = DUE_FIELD[clock]
        already = SlaBreach.objects.filter(
            care_request=OuterRef("pk"), clock=clock, due_at=OuterRef(due_field)
        )
        candidates = (
            CareRequest.objects.filter(sla_overdue_condition(clock, now=now))
            .exclude(Exists(already))
            .select_related("assigned_to")
            .order_by(due_field)[:limit]
        )
        for care_request in candidates:
            alerted += int(_record_breach(care_request, clock=clock, now=now))
    return alerted


def _record_breach(care_request: CareRequest, *, clock: str, now: datetime) -> bool:
    assignee = care_request.assigned_to
    to = (
        assignee.email
        if assignee is not None and assignee.is_active
        else settings.ON_DUTY_EMAIL
    )
    try:
        with transaction.atomic():
            breach = SlaBreach.objects.create(
                care_request=care_request,
                clock=clock,
                due_at=getattr(care_request, DUE_FIELD[clock]),
                detected_at=now,
                alerted_to=to,
            )
            with translation.override(settings.LANGUAGE_CODE):
                _email(
                    about=breach,
                    kind="alert",
                    to=to,
                    template="patients/email/care_request_deadline",
                    context={
                        "request_reference": care_request.reference,
                        "clock": str(SlaClock(clock).label),
                        "due_at": breach.due_at,
                        "link": care_request_admin_url(care_request),
                    },
                    language=assignee.language if assignee else settings.LANGUAGE_CODE,
                    user=assignee,
                )
    except IntegrityError:
        return False  # another sweep recorded this breach first
    return True


def staff_members() -> Iterable[User]:
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=STAFF_ROLES))
        .distinct()
        .order_by("first_name", "last_name")
    )
