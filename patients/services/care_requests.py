"""Care requests from intake to closure: intake, triage, the state machine, hooks.

Every transition is one service here, with the same steps: lock the row, check the
state (`can_proceed`), the actor's role (`has_transition_perm`, rules in
`patients.models.STAFF_TRANSITION_ROLES`) and the guards of the transition (each
with its error code), transition, save the changed fields, write the
`CareRequestEvent`, and ask for the side effects after commit. Side effects
(emails through the outbox, partner webhooks, the on-duty alert) run in
`announce_event`, once per event, from a task enqueued on commit; a beat task
picks up events whose task was lost.

Other apps call the hooks at the end (`mark_scheduled`, `mark_unscheduled`,
`mark_care_started`, `mark_follow_up`, `on_shortlist_published`) and plug their
open items into `register_open_items_provider`.
"""

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_fsm import (
    can_proceed,
    get_available_user_FIELD_transitions,
    has_transition_perm,
)

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import STAFF_ROLES, Role
from conciergerie.audit.models import AccessLog
from conciergerie.notifications import services as outbox

from .. import tasks, triage
from ..access import AuditObject, audit, manages
from ..models import (
    EMERGENCY_PROTOCOL,
    EMERGENCY_PROTOCOL_REQUIRED,
    OVERRIDE_ROLES,
    CareRequest,
    CareRequestEvent,
    CareTask,
    Channel,
    Document,
    EmergencyChecklistItem,
    Patient,
    SlaClock,
    Urgency,
    normalise_care_request_reference,
    staff_roles_of,
)
from .consents import has_health_data_consent
from .medical import upload_document
from .registration import touch_activity

logger = logging.getLogger(__name__)

State = CareRequest.State
Kind = CareRequest.Kind


class RoleNotAllowed(PermissionDenied):
    """The actor's role may not do this (a 403 on the API, a message elsewhere)."""

    def __init__(self, message: str, *, code: str = "role_not_allowed") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- Small helpers --------------------------------------------------------------------


def _is_user(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def actor_label(user) -> str:
    """The actor's name at the time; empty for the service itself (a task, a hook)."""
    if not _is_user(user):
        return ""
    return (user.get_full_name() or user.email)[:255]


def _field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def _record_event(
    *,
    care_request: CareRequest,
    kind: str,
    by,
    from_state: str = "",
    to_state: str = "",
    transition: str = "",
    comment: str = "",
    public: bool = False,
    public_note: str = "",
) -> CareRequestEvent:
    """One timeline row, in the transaction of the change; side effects on commit."""
    event = CareRequestEvent.objects.create(
        care_request=care_request,
        kind=kind,
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        actor=by if _is_user(by) else None,
        actor_label=actor_label(by),
        comment=(comment or "").strip(),
        public=public,
        public_note=(public_note or "").strip(),
    )
    tasks.announce_care_request_event.delay_on_commit(event.pk)
    return event


def care_request_admin_url(care_request: CareRequest) -> str:
    return settings.SITE_URL + reverse(
        "admin:patients_carerequest_change", args=[care_request.pk]
    )


def care_request_portal_url(care_request: CareRequest) -> str:
    return settings.SITE_URL + care_request.get_absolute_url()


# --- Service-level clocks ----------------------------------------------------------


def sla_target(clock: str, urgency: str) -> timedelta | None:
    """How long the team has for this clock at this urgency (settings, minutes)."""
    minutes = settings.CARE_REQUEST_SLA_MINUTES.get(clock, {}).get(urgency)
    return None if minutes is None else timedelta(minutes=int(minutes))


DUE_FIELDS = ["first_response_due_at", "qualification_due_at", "appointment_due_at"]


def _set_due_dates(care_request: CareRequest, *, start: datetime) -> None:
    """Due times run from the moment the request arrived, at its current urgency."""
    for clock, field in zip(SlaClock.values, DUE_FIELDS, strict=True):
        target = sla_target(clock, care_request.urgency)
        if clock == SlaClock.APPOINTMENT and not care_request.needs_practitioner:
            target = None
        setattr(care_request, field, None if target is None else start + target)


def mark_first_response(
    *, care_request: CareRequest, at: datetime | None = None
) -> bool:
    """The team answered the patient: the first-response clock stops (once)."""
    at = at or timezone.now()
    stopped = CareRequest.objects.filter(
        pk=care_request.pk, first_response_at__isnull=True
    ).update(first_response_at=at, updated_at=at)
    if stopped:
        care_request.first_response_at = at
    return bool(stopped)


# --- Eligibility and feasibility ------------------------------------------------------


def department_of(postal_code: str) -> str:
    """The department of a French postal code: 75, 2A/2B for Corsica, 971 overseas."""
    code = (postal_code or "").strip()
    if len(code) != 5 or not code.isdigit():
        return ""
    if code.startswith("20"):
        return "2A" if code < "20200" else "2B"
    if code.startswith(("97", "98")):
        return code[:3]
    return code[:2]


def in_service_area(postal_code: str) -> bool:
    """Within the departments the service covers (`SERVICE_AREA_DEPARTMENTS`,
    empty: everywhere)."""
    area = {str(d).strip().upper() for d in settings.SERVICE_AREA_DEPARTMENTS if d}
    if not area:
        return True
    return department_of(postal_code) in area


def check_eligibility(care_request: CareRequest) -> dict[str, bool]:
    """Identity complete, consent, insurance known, within the service area.

    Recorded at qualification; only the missing consent stops it, the rest are
    warnings the team resolves (a teleconsultation is feasible anywhere).
    """
    patient = care_request.patient
    identity = all(
        [
            patient.last_name,
            patient.first_names,
            patient.birth_date,
            patient.sex,
            patient.email
            or patient.mobile_phone
            or patient.user_id
            or patient.guardianships.filter(ended_at__isnull=True).exists(),
        ]
    )
    postal_code = care_request.place_postal_code or patient.postal_code
    remote = care_request.mode == CareRequest.Mode.TELECONSULTATION or (
        care_request.kind == Kind.TELECONSULTATION
    )
    return {
        "identity_complete": bool(identity),
        "consent": has_health_data_consent(patient),
        "insurance_known": patient.current_insurance() is not None,
        "in_service_area": remote or in_service_area(postal_code),
    }


ELIGIBILITY_LABELS = {
    "identity_complete": "identity complete",
    "consent": "consent to health data processing",
    "insurance_known": "insurance known",
    "in_service_area": "within the service area",
}


# --- Triage ---------------------------------------------------------------------------


def triage_text(need: str, answers: Mapping[str, Any] | None) -> str:
    """The patient's words and their written answers, as triage reads them."""
    parts = [need or ""]
    for answer in (answers or {}).values():
        value = answer.get("answer") if isinstance(answer, Mapping) else answer
        if isinstance(value, str) and value.strip():
            parts.append(value)
    return "\n".join(parts)


def _flags_payload(matches: Sequence[triage.RedFlagMatch]) -> list[dict[str, str]]:
    return [
        {
            "code": match.flag.code,
            "label": str(match.flag.label),
            "advice": str(match.flag.advice),
            "words": match.words,
        }
        for match in matches
    ]


_RED_FLAGS_BY_CODE = {flag.code: flag for flag in triage.RED_FLAGS}


def red_flag_text(flag: Mapping[str, str], part: str) -> str:
    """A stored red flag's label or advice, in the reader's language."""
    known = _RED_FLAGS_BY_CODE.get(flag.get("code", ""))
    if known is not None:
        return str(getattr(known, part))
    return flag.get(part, "")


def _known_specialty(code: str) -> bool:
    from specialists.models import Specialty

    return Specialty.objects.filter(code=code, is_active=True).exists()


def specialty_label(code: str) -> str:
    if not code:
        return ""
    from specialists.models import Specialty

    specialty = Specialty.objects.filter(code=code).first()
    return specialty.label if specialty else code


# --- Intake ---------------------------------------------------------------------------

PREFERENCE_FIELDS = (
    "place_postal_code",
    "place_commune",
    "radius_km",
    "available_from",
    "available_until",
    "availability_notes",
    "languages",
    "practitioner_gender",
    "max_budget",
    "sector",
    "mode",
    "wheelchair_access",
)
DOCUMENT_CHANNEL: dict[str, str] = {
    CareRequest.IntakeChannel.PORTAL: Channel.PORTAL,
    CareRequest.IntakeChannel.PHONE: Channel.PHONE,
    CareRequest.IntakeChannel.EMAIL: Channel.ADMIN,
    CareRequest.IntakeChannel.API: Channel.API,
}


def may_file_for(user, patient: Patient) -> bool:
    """The patient or a guardian, any concierge, or a partner who may see the file."""
    if not _is_user(user) or not user.is_active:
        return False
    if staff_roles_of(user):
        return True
    if manages(user, patient):
        return True
    return bool(
        user.has_role(Role.PARTNER)
        and Patient.objects.visible_to(user).filter(pk=patient.pk).exists()
    )


def _require_consent(patient: Patient) -> None:
    if not has_health_data_consent(patient):
        raise ValidationError(
            _(
                "We cannot open a request without the patient's consent to the "
                "processing of their health data: record the consent first."
            ),
            code="consent_required",
        )


@transaction.atomic
def submit_care_request(
    *,
    patient: Patient,
    by: User | None,
    channel: str,
    need: str,
    kind: str = Kind.SPECIALIST,
    specialty: str = "",
    answers: Mapping[str, Any] | None = None,
    preferences: Mapping[str, Any] | None = None,
    attachments: Sequence[tuple[Any, str]] = (),
    partner_reference: str = "",
    request=None,
) -> CareRequest:
    """Open a request; red flags send it to the emergency path at once.

    Refused without the patient's consent to the processing of health data
    (`consent_required`). Triage suggests the urgency and the specialty from the
    patient's words and answers, with its reasons; a medical adviser confirms them.
    """
    if by is not None and not may_file_for(by, patient):
        raise RoleNotAllowed(_("You may not open a request for this patient."))
    patient = Patient.objects.get(pk=patient.pk)
    if patient.is_erased or patient.merged_into_id or patient.purged_at:
        raise ValidationError(
            _("This file is closed: no request can be opened on it."),
            code="file_closed",
        )
    _require_consent(patient)
    need = (need or "").strip()
    if not need:
        raise _field_error(
            "need", _("Describe the need in a few words."), "need_required"
        )
    if specialty and not _known_specialty(specialty):
        raise _field_error("specialty", _("Unknown specialty."), "unknown_specialty")
    answers = dict(answers or {})
    text = triage_text(need, answers)
    assessment = triage.assess_urgency(text)
    suggestion = triage.suggest_specialty(text)
    preferences = dict(preferences or {})
    unknown = set(preferences) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown preferences: {sorted(unknown)}")
    preferences.setdefault("place_postal_code", patient.postal_code[:5])
    preferences.setdefault("place_commune", patient.city[:120])
    if preferences.get("languages") is None:
        preferences["languages"] = []
    emergency = assessment.level == triage.Urgency.EMERGENCY
    care_request = CareRequest(
        patient=patient,
        requested_by=by if _is_user(by) else None,
        kind=kind,
        channel=channel,
        partner_reference=(partner_reference or "").strip(),
        need=need,
        answers=answers,
        suggested_specialty=suggestion.code,
        specialty_reasons=list(suggestion.reasons),
        specialty=specialty,
        # An emergency keeps the urgency the text would have without the flags'
        # label; the transition to the emergency path sets it.
        urgency=Urgency.URGENT if emergency else assessment.level,
        urgency_reasons=list(assessment.reasons),
        red_flags=_flags_payload(assessment.red_flags),
        **preferences,
    )
    care_request.full_clean(exclude=["reference", "state"])
    care_request.save()
    # The clocks run from the moment of arrival, which the insert stamped.
    _set_due_dates(care_request, start=care_request.created_at)
    care_request.save(update_fields=DUE_FIELDS)
    for upload, document_kind in attachments:
        document = upload_document(
            patient=patient,
            by=by,
            upload=upload,
            kind=document_kind or Document.Kind.OTHER,
            channel=DOCUMENT_CHANNEL.get(channel, Channel.ADMIN),
            request=request,
        )
        care_request.documents.add(document)
    _record_event(
        care_request=care_request,
        kind=CareRequestEvent.Kind.CREATED,
        by=by,
        to_state=State.RECEIVED,
        comment=_("Received through %(channel)s.")
        % {"channel": care_request.get_channel_display()},
        public=True,
    )
    audit(
        by=by,
        action=AccessLog.Action.CREATE,
        patient=patient,
        what=AuditObject.CARE_REQUEST,
        object_id=care_request.reference,
        request=request,
    )
    _assign_default_concierge(care_request, by=by)
    if emergency:
        labels = ", ".join(flag["label"] for flag in care_request.red_flags)
        _escalate(
            care_request=care_request,
            by=by,
            comment=_("Red flags at intake: %(flags)s.") % {"flags": labels},
        )
    return CareRequest.objects.select_related("patient", "assigned_to").get(
        pk=care_request.pk
    )


def _assign_default_concierge(care_request: CareRequest, *, by) -> None:
    """The patient's own concierge takes the request (the least busy, if several)."""
    candidate = (
        care_request.patient.assigned_staff.filter(is_active=True, is_staff=True)
        .annotate(
            load=Count(
                "assigned_care_requests",
                filter=Q(assigned_care_requests__state__in=CareRequest.OPEN_STATES),
            )
        )
        .order_by("load", "pk")
        .first()
    )
    if candidate is None:
        return
    from .care_team import assign

    assign(care_request=care_request, to=candidate, by=by, automatic=True)


# --- The transition machinery ---------------------------------------------------------

Guard = Callable[[CareRequest], None]


def _locked(care_request: CareRequest) -> CareRequest:
    return CareRequest.objects.select_for_update().get(pk=care_request.pk)


def _transition(
    *,
    care_request: CareRequest,
    name: str,
    by,
    fields: Sequence[str] = (),
    arguments: Mapping[str, Any] | Callable[[CareRequest], Mapping[str, Any]] = (
        lambda _request: {}
    ),
    guards: Sequence[Guard] = (),
    comment: str = "",
    public_note: str = "",
    check_role: bool = True,
) -> CareRequest:
    """Lock, check state and role and guards, transition, save, write the event."""
    care_request = _locked(care_request)
    method = getattr(care_request, name)
    if not can_proceed(method):
        raise ValidationError(
            _("A request in the state “%(state)s” cannot do this (%(transition)s).")
            % {"state": _state_label(care_request.state), "transition": name},
            code="transition_not_allowed",
        )
    if check_role and not has_transition_perm(method, by):
        raise RoleNotAllowed(
            _("Your role does not allow this step (%(transition)s).")
            % {"transition": name}
        )
    for guard in guards:
        guard(care_request)
    from_state = care_request.state
    if callable(arguments):
        arguments = arguments(care_request)
    method(**arguments)
    care_request.save(update_fields=[*fields, "state", "updated_at"])
    _record_event(
        care_request=care_request,
        kind=CareRequestEvent.Kind.TRANSITION,
        by=by,
        from_state=from_state,
        to_state=care_request.state,
        transition=name,
        comment=comment,
        public=True,
        public_note=public_note,
    )
    if check_role and staff_roles_of(by) and name in FIRST_RESPONSE_TRANSITIONS:
        mark_first_response(care_request=care_request)
    return care_request


#: Steps a concierge takes with the patient: the first-response clock stops.
FIRST_RESPONSE_TRANSITIONS = frozenset({"qualify", "escalate", "cancel", "start_care"})


def _require_text(value: str, field: str, message: str) -> Guard:
    def guard(care_request: CareRequest) -> None:
        if not (value or "").strip():
            raise _field_error(field, message, "reason_required")

    return guard


def _require_consent_guard(care_request: CareRequest) -> None:
    _require_consent(care_request.patient)


def _protocol_complete(care_request: CareRequest) -> None:
    missing = [
        code
        for code in EMERGENCY_PROTOCOL_REQUIRED
        if not care_request.emergency_checklist.filter(
            code=code, checked_at__isnull=False
        ).exists()
    ]
    if missing:
        raise ValidationError(
            _("The emergency protocol is not complete: tick its required steps first."),
            code="emergency_protocol_incomplete",
        )


def emergency_protocol_complete(care_request: CareRequest) -> bool:
    try:
        _protocol_complete(care_request)
    except ValidationError:
        return False
    return True


def _valid_urgency(urgency: str, *, allow_emergency: bool = False) -> Guard:
    def guard(care_request: CareRequest) -> None:
        if urgency not in Urgency.values:
            raise _field_error(
                "urgency", _("Choose an urgency level."), "invalid_urgency"
            )
        if urgency == Urgency.EMERGENCY and not allow_emergency:
            raise _field_error(
                "urgency",
                _("For an emergency, raise the emergency instead."),
                "use_escalate",
            )

    return guard


def _specialty_guard(specialty: str) -> Guard:
    def guard(care_request: CareRequest) -> None:
        if specialty and not _known_specialty(specialty):
            raise _field_error(
                "specialty", _("Unknown specialty."), "unknown_specialty"
            )
        if care_request.needs_practitioner and not specialty:
            raise _field_error(
                "specialty",
                _("Confirm the specialty this request needs."),
                "specialty_required",
            )

    return guard


def _needs_practitioner(care_request: CareRequest) -> None:
    if not care_request.needs_practitioner:
        raise ValidationError(
            _("This kind of request needs no practitioner: start the care directly."),
            code="no_practitioner_needed",
        )
    if not care_request.specialty:
        raise ValidationError(
            _("Confirm the specialty first (qualification)."),
            code="specialty_required",
        )


def _care_may_start(care_request: CareRequest) -> None:
    if care_request.state == State.QUALIFIED and care_request.needs_practitioner:
        raise ValidationError(
            _("This request needs an appointment before care starts."),
            code="appointment_required",
        )


# --- Transitions: one service each ----------------------------------------------------


@transaction.atomic
def qualify_care_request(
    *,
    care_request: CareRequest,
    by: User,
    specialty: str = "",
    urgency: str = "",
    comment: str = "",
) -> CareRequest:
    """A medical adviser confirms the specialty and the urgency; the eligibility
    checks are recorded (the missing consent alone stops it)."""
    specialty = (specialty or care_request.specialty or "").strip()
    urgency = urgency or care_request.urgency
    care_request = _transition(
        care_request=care_request,
        name="qualify",
        by=by,
        guards=[
            _require_consent_guard,
            _specialty_guard(specialty),
            _valid_urgency(urgency),
        ],
        arguments=lambda locked: {
            "specialty": specialty,
            "urgency": urgency,
            "eligibility": check_eligibility(locked),
        },
        fields=[
            "specialty",
            "urgency",
            "eligibility",
            "eligibility_checked_at",
            "qualified_at",
        ],
        comment=comment,
    )
    _set_due_dates(care_request, start=care_request.created_at)
    care_request.save(update_fields=[*DUE_FIELDS, "updated_at"])
    return care_request


def _escalate(
    *, care_request: CareRequest, by, comment: str, check_role: bool = False
) -> CareRequest:
    care_request = _transition(
        care_request=care_request,
        name="escalate",
        by=by,
        guards=[]
        if not check_role
        else [_require_text(comment, "comment", _("Say what happens."))],
        fields=["urgency", "emergency_at"],
        comment=comment,
        check_role=check_role,
    )
    _set_due_dates(care_request, start=care_request.emergency_at or timezone.now())
    care_request.save(update_fields=[*DUE_FIELDS, "updated_at"])
    _open_emergency_protocol(care_request, by=by)
    return care_request


def _open_emergency_protocol(care_request: CareRequest, *, by) -> None:
    """The checklist to follow and the call back after the emergency."""
    existing = set(care_request.emergency_checklist.values_list("code", flat=True))
    EmergencyChecklistItem.objects.bulk_create(
        [
            EmergencyChecklistItem(
                care_request=care_request, code=code, position=position
            )
            for position, (code, _label, _required) in enumerate(EMERGENCY_PROTOCOL)
            if code not in existing
        ]
    )
    CareTask.objects.create(
        care_request=care_request,
        kind=CareTask.Kind.FOLLOW_UP_CALL,
        title=_("Call the patient back after the emergency"),
        owner=care_request.assigned_to,
        due_at=timezone.now()
        + timedelta(hours=settings.CARE_REQUEST_POST_EMERGENCY_FOLLOW_UP_HOURS),
        created_by=by if _is_user(by) else None,
    )


@transaction.atomic
def escalate_care_request(
    *, care_request: CareRequest, by: User, comment: str
) -> CareRequest:
    """Anyone in the back-office raises an emergency: the on-duty concierge is
    alerted, the protocol checklist opens and a follow-up call is planned."""
    return _escalate(care_request=care_request, by=by, comment=comment, check_role=True)


@transaction.atomic
def stand_down_emergency(
    *, care_request: CareRequest, by: User, urgency: str, comment: str
) -> CareRequest:
    """Not an emergency after all: back to the usual path at the urgency given,
    once the protocol's required steps are done and the reason written."""
    care_request = _transition(
        care_request=care_request,
        name="stand_down",
        by=by,
        guards=[
            _valid_urgency(urgency),
            _require_text(comment, "comment", _("Say why it is not an emergency.")),
            _protocol_complete,
        ],
        arguments={"urgency": urgency},
        fields=["urgency", "qualified_at"],
        comment=comment,
    )
    _set_due_dates(care_request, start=care_request.created_at)
    care_request.save(update_fields=[*DUE_FIELDS, "updated_at"])
    return care_request


@transaction.atomic
def end_emergency(
    *, care_request: CareRequest, by: User, comment: str = ""
) -> CareRequest:
    """The emergency was handled (protocol complete): the request goes to follow-up."""
    return _transition(
        care_request=care_request,
        name="end_emergency",
        by=by,
        guards=[_protocol_complete],
        fields=["follow_up_at"],
        comment=comment,
    )


@transaction.atomic
def start_search(
    *, care_request: CareRequest, by: User, comment: str = ""
) -> CareRequest:
    """A coordinator starts looking for practitioners (see `matching_criteria`)."""
    return _transition(
        care_request=care_request,
        name="start_search",
        by=by,
        guards=[_needs_practitioner],
        comment=comment,
    )


def _published_shortlist(care_request: CareRequest):
    if not apps.is_installed("specialists"):
        return None
    from specialists.models import Shortlist

    return Shortlist.objects.filter(
        request_reference=care_request.reference, state=Shortlist.State.PUBLISHED
    ).first()


@transaction.atomic
def propose_care_request(
    *, care_request: CareRequest, by: User, comment: str = ""
) -> CareRequest:
    """Record a proposal made outside the directory (by phone): say what it was.

    Proposals from the directory go through `on_shortlist_published`.
    """

    def described(request: CareRequest) -> None:
        if _published_shortlist(request) is None and not (comment or "").strip():
            raise _field_error(
                "comment",
                _("Say what was proposed, or propose a shortlist from the directory."),
                "proposal_required",
            )

    return _transition(
        care_request=care_request,
        name="propose",
        by=by,
        guards=[described],
        comment=comment,
    )


@transaction.atomic
def reopen_search(
    *, care_request: CareRequest, by: User, comment: str = ""
) -> CareRequest:
    """The patient declined the proposal: it is withdrawn and the search resumes."""
    care_request = _transition(
        care_request=care_request, name="reopen_search", by=by, comment=comment
    )
    shortlist = _published_shortlist(care_request)
    if shortlist is not None:
        from specialists import services as directory

        directory.withdraw_shortlist(shortlist=shortlist, by=by)
    return care_request


@transaction.atomic
def schedule_care_request(
    *,
    care_request: CareRequest,
    by: User,
    appointment_reference: str,
    comment: str = "",
) -> CareRequest:
    """A coordinator records a booking made by phone (the appointments app calls
    `mark_scheduled` for its own bookings)."""
    appointment_reference = (appointment_reference or "").strip()
    return _transition(
        care_request=care_request,
        name="schedule",
        by=by,
        guards=[
            _require_text(
                appointment_reference,
                "appointment_reference",
                _("Say which appointment was booked."),
            )
        ],
        arguments={"appointment_reference": appointment_reference[:64]},
        fields=["appointment_reference", "scheduled_at"],
        comment=comment,
    )


@transaction.atomic
def unschedule_care_request(
    *, care_request: CareRequest, by: User, comment: str
) -> CareRequest:
    """The appointment fell through: book another one."""
    return _transition(
        care_request=care_request,
        name="unschedule",
        by=by,
        guards=[_require_text(comment, "comment", _("Say what happened."))],
        fields=["appointment_reference", "scheduled_at"],
        comment=comment,
    )


@transaction.atomic
def start_care(
    *, care_request: CareRequest, by: User, comment: str = ""
) -> CareRequest:
    """The consultation took place (or, for paperwork and logistics, the work
    began)."""
    return _transition(
        care_request=care_request,
        name="start_care",
        by=by,
        guards=[_care_may_start],
        fields=["care_started_at"],
        comment=comment,
    )


@transaction.atomic
def start_follow_up(
    *, care_request: CareRequest, by: User, comment: str = ""
) -> CareRequest:
    """Care is done: the team checks how the patient is and what is left."""
    return _transition(
        care_request=care_request,
        name="start_follow_up",
        by=by,
        fields=["follow_up_at"],
        comment=comment,
    )


@transaction.atomic
def close_care_request(
    *,
    care_request: CareRequest,
    by: User,
    comment: str = "",
    override_reason: str = "",
) -> CareRequest:
    """Close once nothing is left open (appointments, invoices, claims, tasks), or
    with a manager's written reason to close anyway."""
    override_reason = (override_reason or "").strip()

    def nothing_left_open(request: CareRequest) -> None:
        items = open_items(request)
        if not items:
            return
        if not override_reason:
            raise ValidationError(
                _(
                    "Still open: %(items)s. Close them, or give a reason to close "
                    "anyway."
                )
                % {"items": "; ".join(item.label for item in items)},
                code="open_items",
            )
        if not staff_roles_of(by) & OVERRIDE_ROLES:
            raise RoleNotAllowed(
                _("Only a manager may close a request with open items."),
                code="override_not_allowed",
            )

    return _transition(
        care_request=care_request,
        name="close",
        by=by,
        guards=[nothing_left_open],
        arguments={"override_reason": override_reason},
        fields=["closed_at", "closure_override_reason"],
        comment="\n".join(part for part in (comment, override_reason) if part),
    )


@transaction.atomic
def cancel_care_request(
    *, care_request: CareRequest, by: User, reason: str
) -> CareRequest:
    """Cancel an open request with a reason: the patient (before care starts), the
    referring partner (before booking) or the team (any time)."""
    reason = (reason or "").strip()
    care_request = _transition(
        care_request=care_request,
        name="cancel",
        by=by,
        guards=[
            _require_text(reason, "reason", _("Say why the request is cancelled."))
        ],
        arguments={"reason": reason},
        fields=["cancelled_at", "cancellation_reason"],
        comment=reason,
        public_note=reason,
    )
    shortlist = _published_shortlist(care_request)
    if shortlist is not None:
        from specialists import services as directory

        directory.withdraw_shortlist(shortlist=shortlist, by=by)
    return care_request


#: Every transition a face may ask for by name, with the inputs it takes.
TRANSITIONS: dict[str, tuple[Callable[..., CareRequest], tuple[str, ...]]] = {
    "qualify": (qualify_care_request, ("specialty", "urgency", "comment")),
    "escalate": (escalate_care_request, ("comment",)),
    "stand_down": (stand_down_emergency, ("urgency", "comment")),
    "end_emergency": (end_emergency, ("comment",)),
    "start_search": (start_search, ("comment",)),
    "propose": (propose_care_request, ("comment",)),
    "reopen_search": (reopen_search, ("comment",)),
    "schedule": (schedule_care_request, ("appointment_reference", "comment")),
    "unschedule": (unschedule_care_request, ("comment",)),
    "start_care": (start_care, ("comment",)),
    "start_follow_up": (start_follow_up, ("comment",)),
    "close": (close_care_request, ("comment", "override_reason")),
    "cancel": (cancel_care_request, ("reason",)),
}


def perform_transition(
    *, care_request: CareRequest, name: str, by: User, data: Mapping[str, Any]
) -> CareRequest:
    """Run the transition named by a face (admin button, API call) with its inputs."""
    if name not in TRANSITIONS:
        raise ValidationError(
            _("Unknown step %(transition)s.") % {"transition": name},
            code="unknown_transition",
        )
    service, inputs = TRANSITIONS[name]
    arguments = {key: data.get(key) or "" for key in inputs}
    return service(care_request=care_request, by=by, **arguments)


def available_transitions(care_request: CareRequest, user) -> list[str]:
    """The steps this user may take now (state and role), for buttons."""
    return [
        transition.name
        for transition in get_available_user_FIELD_transitions(
            care_request, user, CareRequest._meta.get_field("state")
        )
    ]


#: The guards a button can check before it is pressed (the others need its inputs).
PRECHECKS: dict[str, tuple[Guard, ...]] = {
    "qualify": (_require_consent_guard,),
    "stand_down": (_protocol_complete,),
    "end_emergency": (_protocol_complete,),
    "start_search": (_needs_practitioner,),
    "start_care": (_care_may_start,),
}


def blocked_reason(care_request: CareRequest, name: str) -> str:
    """Why this step cannot be taken yet, in words, or "" (for disabled buttons)."""
    for guard in PRECHECKS.get(name, ()):
        try:
            guard(care_request)
        except ValidationError as error:
            return error.messages[0]
    return ""


def transition_label(name: str) -> str:
    method = getattr(CareRequest, name, None)
    meta = getattr(method, "_django_fsm", None)
    if meta is None:
        return name
    for transition in meta.transitions.values():
        return str(transition.custom.get("label", name))
    return name


# --- Hooks for the other apps (they authorised the action themselves) -----------------


@transaction.atomic
def mark_scheduled(
    *,
    care_request: CareRequest,
    by: User | None = None,
    appointment_reference: str,
    comment: str = "",
) -> CareRequest:
    """An appointment was booked for this request (appointments app).

    No role check: the booking app decided who may book. The request must be
    looking for practitioners or have a proposal (`transition_not_allowed`
    otherwise).
    """
    return _transition(
        care_request=care_request,
        name="schedule",
        by=by,
        arguments={"appointment_reference": (appointment_reference or "")[:64]},
        fields=["appointment_reference", "scheduled_at"],
        comment=comment,
        check_role=False,
    )


@transaction.atomic
def mark_unscheduled(
    *,
    care_request: CareRequest,
    by: User | None = None,
    appointment_reference: str = "",
    comment: str = "",
) -> CareRequest:
    """The booked appointment was cancelled: the request looks for a new one.

    Does nothing if the request no longer waits for that appointment (another
    one was booked since, or the request moved on).
    """
    current = CareRequest.objects.get(pk=care_request.pk)
    if current.state != State.SCHEDULED or (
        appointment_reference
        and current.appointment_reference
        and current.appointment_reference != appointment_reference
    ):
        return current
    return _transition(
        care_request=current,
        name="unschedule",
        by=by,
        fields=["appointment_reference", "scheduled_at"],
        comment=comment,
        check_role=False,
    )


@transaction.atomic
def mark_care_started(
    *, care_request: CareRequest, by: User | None = None, comment: str = ""
) -> CareRequest:
    """The consultation took place (appointments, teleconsult)."""
    return _transition(
        care_request=care_request,
        name="start_care",
        by=by,
        guards=[_care_may_start],
        fields=["care_started_at"],
        comment=comment,
        check_role=False,
    )


@transaction.atomic
def mark_follow_up(
    *, care_request: CareRequest, by: User | None = None, comment: str = ""
) -> CareRequest:
    """The practitioner's part is done (report received): follow-up starts."""
    return _transition(
        care_request=care_request,
        name="start_follow_up",
        by=by,
        fields=["follow_up_at"],
        comment=comment,
        check_role=False,
    )


def on_shortlist_published(*, shortlist, by: User) -> None:
    """`SPECIALISTS_SHORTLIST_PUBLISHED`: publishing a shortlist proposes it.

    Runs in the publishing transaction; an error here cancels the publication.
    """
    care_request = CareRequest.objects.filter(
        reference=normalise_care_request_reference(shortlist.request_reference)
    ).first()
    if care_request is None:
        raise ValidationError(
            _("No care request has the reference %(reference)s.")
            % {"reference": shortlist.request_reference},
            code="unknown_care_request",
        )
    _transition(
        care_request=care_request,
        name="propose",
        by=by,
        comment=_("Shortlist of %(count)d practitioners proposed.")
        % {"count": shortlist.entries.count()},
        public_note=shortlist.message,
        check_role=False,
    )


# --- Details -------------------------------------------------------------------------

EDITABLE_DETAILS = (*PREFERENCE_FIELDS, "kind")


@transaction.atomic
def update_details(
    *, care_request: CareRequest, by: User, changes: Mapping[str, Any]
) -> CareRequest:
    """The team corrects the kind or the patient's preferences (logged, not public)."""
    require_staff(by, message=_("Only the team changes a request."))
    unknown = set(changes) - set(EDITABLE_DETAILS)
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    care_request = _locked(care_request)
    if not care_request.is_open:
        raise ValidationError(_("This request is finished."), code="request_finished")
    changed = [
        name for name, value in changes.items() if getattr(care_request, name) != value
    ]
    if not changed:
        return care_request
    for name in changed:
        setattr(care_request, name, changes[name])
    care_request.full_clean(exclude=["reference", "state"])
    if "kind" in changed:
        _set_due_dates(care_request, start=care_request.created_at)
    care_request.save(update_fields=[*changed, *DUE_FIELDS, "updated_at"])
    _record_event(
        care_request=care_request,
        kind=CareRequestEvent.Kind.DETAILS,
        by=by,
        comment=", ".join(
            str(getattr(CareRequest._meta.get_field(name), "verbose_name", name))
            for name in changed
        ),
    )
    return care_request


# --- Triage changes and the emergency protocol ----------------------------------------

TRIAGE_ROLES = frozenset({Role.MEDICAL_ADVISER, Role.MANAGER})


@transaction.atomic
def update_triage(
    *,
    care_request: CareRequest,
    by: User,
    urgency: str | None = None,
    specialty: str | None = None,
    comment: str = "",
) -> CareRequest:
    """A medical adviser changes the urgency or the specialty; due times follow."""
    if not staff_roles_of(by) & TRIAGE_ROLES:
        raise RoleNotAllowed(_("Only a medical adviser changes the triage."))
    care_request = _locked(care_request)
    if not care_request.is_open:
        raise ValidationError(
            _("This request is finished."), code="transition_not_allowed"
        )
    changes = []
    if urgency is not None and urgency != care_request.urgency:
        _valid_urgency(urgency)(care_request)
        if care_request.state == State.EMERGENCY:
            raise _field_error(
                "urgency",
                _("End the emergency to change its urgency."),
                "emergency_in_progress",
            )
        changes.append(
            _("urgency %(old)s → %(new)s")
            % {
                "old": Urgency(care_request.urgency).label,
                "new": Urgency(urgency).label,
            }
        )
        care_request.urgency = urgency
        _set_due_dates(care_request, start=care_request.created_at)
    if specialty is not None and specialty != care_request.specialty:
        _specialty_guard(specialty)(care_request)
        changes.append(
            _("specialty %(old)s → %(new)s")
            % {
                "old": specialty_label(care_request.specialty) or "—",
                "new": specialty_label(specialty),
            }
        )
        care_request.specialty = specialty
    if not changes:
        return care_request
    care_request.save(update_fields=["urgency", "specialty", *DUE_FIELDS, "updated_at"])
    _record_event(
        care_request=care_request,
        kind=CareRequestEvent.Kind.TRIAGE,
        by=by,
        comment="; ".join(str(change) for change in changes)
        + (f"\n{comment}" if comment else ""),
    )
    return care_request


@transaction.atomic
def check_emergency_step(
    *, item: EmergencyChecklistItem, by: User, note: str = ""
) -> EmergencyChecklistItem:
    """Tick one step of the emergency protocol, with who and when; once."""
    if not staff_roles_of(by):
        raise RoleNotAllowed(_("Only the team follows the emergency protocol."))
    item = EmergencyChecklistItem.objects.select_for_update().get(pk=item.pk)
    if item.checked_at is not None:
        return item
    item.checked_at = timezone.now()
    item.checked_by = by
    item.note = (note or "").strip()
    item.save(update_fields=["checked_at", "checked_by", "note", "updated_at"])
    _record_event(
        care_request=item.care_request,
        kind=CareRequestEvent.Kind.CHECKLIST,
        by=by,
        comment=f"{item}" + (f" — {item.note}" if item.note else ""),
    )
    if item.code == "call_patient":
        mark_first_response(care_request=item.care_request, at=item.checked_at)
    return item


# --- Matching -------------------------------------------------------------------------


def matching_criteria(care_request: CareRequest):
    """The patient's preferences as the directory's `MatchCriteria`."""
    from specialists.matching import MatchCriteria, Mode
    from specialists.models import Practitioner

    seen = (
        Practitioner.objects.filter(
            shortlist_entries__shortlist__request_reference=care_request.reference,
            shortlist_entries__shortlist__state="withdrawn",
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    modes: dict[str, str] = {
        CareRequest.Mode.IN_PERSON: Mode.IN_PERSON,
        CareRequest.Mode.TELECONSULTATION: Mode.TELECONSULTATION,
        CareRequest.Mode.EITHER: Mode.EITHER,
    }
    mode = modes[care_request.mode]
    if care_request.kind == Kind.TELECONSULTATION:
        mode = Mode.TELECONSULTATION
    return MatchCriteria(
        specialty=care_request.specialty or care_request.suggested_specialty,
        postal_code=care_request.place_postal_code,
        commune=care_request.place_commune,
        radius_km=float(care_request.radius_km),
        mode=mode,
        languages=tuple(care_request.languages or ()),
        gender=care_request.practitioner_gender,
        budget=care_request.max_budget,
        wheelchair_required=care_request.wheelchair_access,
        available_before=care_request.available_until,
        exclude=frozenset(seen),
    )


def match_query(care_request: CareRequest) -> dict[str, Any]:
    """The directory's search-and-match form, filled from the request."""
    criteria = matching_criteria(care_request)
    query: dict[str, Any] = {
        "request_reference": care_request.reference,
        "specialty": criteria.specialty,
        "postal_code": criteria.postal_code,
        "commune": criteria.commune,
        "radius_km": int(criteria.radius_km),
        "mode": criteria.mode,
        "gender": criteria.gender,
        "languages": list(criteria.languages),
    }
    if criteria.budget is not None:
        query["budget"] = str(criteria.budget)
    if criteria.wheelchair_required:
        query["wheelchair_required"] = "on"
    if criteria.available_before:
        query["available_before"] = criteria.available_before.isoformat()
    return {key: value for key, value in query.items() if value not in ("", None, [])}


# --- What is left open before closing -------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    """Something of a request still open (a pending appointment, an unpaid invoice…)."""

    kind: str
    label: str
    reference: str = ""


OpenItemsProvider = Callable[[CareRequest], Iterable[OpenItem]]
_OPEN_ITEMS_PROVIDERS: dict[str, OpenItemsProvider] = {}


def register_open_items_provider(name: str, provider: OpenItemsProvider) -> None:
    """Another app says what it still has open for a request; closing waits for it.

    Call it from the app's `AppConfig.ready()`; the same name replaces the provider.
    """
    _OPEN_ITEMS_PROVIDERS[name] = provider


def unregister_open_items_provider(name: str) -> None:
    _OPEN_ITEMS_PROVIDERS.pop(name, None)


def open_items(care_request: CareRequest) -> list[OpenItem]:
    """Everything still open for this request, whichever app holds it."""
    items: list[OpenItem] = []
    for _name, provider in sorted(_OPEN_ITEMS_PROVIDERS.items()):
        items.extend(provider(care_request))
    return items


def _model(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _open_tasks(care_request: CareRequest) -> Iterable[OpenItem]:
    for task in care_request.tasks.open():
        yield OpenItem(
            "care_task",
            _("task “%(title)s” (%(status)s)")
            % {"title": task.title, "status": task.get_status_display()},
            str(task.pk),
        )


def _open_invoices(care_request: CareRequest) -> Iterable[OpenItem]:
    invoice_model = _model("billing.Invoice")
    if invoice_model is None or not _has_field(invoice_model, "reference"):
        return
    open_states = ["draft", "issued", "partially_paid", "overdue"]
    for invoice in invoice_model._default_manager.filter(
        reference=care_request.reference, state__in=open_states
    ):
        number = getattr(invoice, "number", "") or ""
        yield OpenItem(
            "invoice",
            _("invoice %(number)s not paid") % {"number": number or _("(draft)")},
            number or str(getattr(invoice, "public_id", invoice.pk)),
        )
    quote_model = _model("billing.Quote")
    if quote_model is not None and _has_field(quote_model, "reference"):
        for quote in quote_model._default_manager.filter(
            reference=care_request.reference, state__in=["draft", "sent"]
        ):
            number = getattr(quote, "number", "") or ""
            yield OpenItem(
                "quote",
                _("quote %(number)s awaiting an answer")
                % {"number": number or _("(draft)")},
                number or str(getattr(quote, "public_id", quote.pk)),
            )


def _open_claims(care_request: CareRequest) -> Iterable[OpenItem]:
    claim_model = _model("reimbursements.Claim")
    if claim_model is None or not _has_field(claim_model, "care_reference"):
        return
    claims = claim_model._default_manager.filter(care_reference=care_request.reference)
    claims = (
        claims.open() if hasattr(claims, "open") else claims.exclude(state="closed")
    )
    for claim in claims:
        reference = str(getattr(claim, "reference", claim.pk))
        yield OpenItem(
            "claim",
            _("reimbursement claim %(reference)s still open")
            % {"reference": reference},
            reference,
        )


def _open_related_rows(care_request: CareRequest) -> Iterable[OpenItem]:
    """Rows of other apps pointing at the request whose queryset has `open()`
    (appointments, for instance): what is open there is open here."""
    for relation in CareRequest._meta.related_objects:
        model = relation.related_model
        if model._meta.app_label == CareRequest._meta.app_label or not isinstance(
            relation.field, models.ForeignKey
        ):
            continue
        queryset = model._default_manager.filter(**{relation.field.name: care_request})
        if not hasattr(queryset, "open"):
            continue
        for row in queryset.open():
            yield OpenItem(
                model._meta.model_name or "row",
                _("%(what)s %(row)s still open")
                % {"what": model._meta.verbose_name, "row": row},
                str(getattr(row, "reference", "") or row.pk),
            )


register_open_items_provider("care_tasks", _open_tasks)
register_open_items_provider("billing", _open_invoices)
register_open_items_provider("reimbursements", _open_claims)
register_open_items_provider("related_rows", _open_related_rows)


# --- Side effects, once per event, after commit ---------------------------------------

#: Status changes the patient is told about by email (no medical detail).
PATIENT_NOTICES: dict[str, str] = {
    State.PROPOSED: "proposed",
    State.CLOSED: "closed",
    State.CANCELLED: "cancelled",
}


def patient_contact(patient: Patient) -> tuple[str, str, User | None] | None:
    """Where to tell a patient that something waits: their email, or a guardian's."""
    user = patient.user
    email = patient.email or (user.email if user else "")
    if email:
        return email, patient.preferred_language or "fr", user
    guardianship = (
        patient.guardianships.filter(ended_at__isnull=True)
        .select_related("guardian")
        .order_by("created_at")
        .first()
    )
    if guardianship is not None and guardianship.guardian.email:
        guardian = guardianship.guardian
        return guardian.email, guardian.language or "fr", guardian
    return None


def _language(value: str) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return value if value in codes else settings.LANGUAGE_CODE


def _email(
    *,
    about: models.Model,
    kind: str,
    to: str,
    template: str,
    context: Mapping[str, Any],
    language: str = "fr",
    user: User | None = None,
) -> None:
    subject = outbox.subject_for(about)
    outbox.schedule_message(
        key=outbox.message_key(subject=subject, kind=kind, channel="email"),
        subject=subject,
        channel="email",
        to=to,
        template=template,
        context=context,
        due_at=timezone.now(),
        language=_language(language),
        user=user,
    )


def _tell_patient(event: CareRequestEvent, status: str) -> None:
    care_request = event.care_request
    contact = patient_contact(care_request.patient)
    if contact is None:
        return
    email, language, user = contact
    _email(
        about=event,
        kind=f"status-{status}",
        to=email,
        template="patients/email/care_request_status",
        context={
            "first_name": care_request.patient.first_names.split(" ")[0],
            "request_reference": care_request.reference,
            "status": status,
            "link": care_request_portal_url(care_request),
        },
        language=language,
        user=user,
    )


def alert_on_duty(event: CareRequestEvent) -> None:
    """The concierge on duty hears of an emergency at once (nothing medical)."""
    care_request = event.care_request
    _email(
        about=event,
        kind="emergency-alert",
        to=settings.ON_DUTY_EMAIL,
        template="patients/email/care_request_emergency",
        context={
            "request_reference": care_request.reference,
            "patient_reference": care_request.patient.reference,
            "channel": str(care_request.get_channel_display()),
            "raised_at": event.created_at,
            "link": care_request_admin_url(care_request),
        },
    )


def _tell_assignee(event: CareRequestEvent) -> None:
    care_request = event.care_request
    assignee = care_request.assigned_to
    if assignee is None or assignee.pk == event.actor_id or not assignee.email:
        return
    _email(
        about=event,
        kind="assigned",
        to=assignee.email,
        template="patients/email/care_request_assigned",
        context={
            "request_reference": care_request.reference,
            "link": care_request_admin_url(care_request),
        },
        language=assignee.language,
        user=assignee,
    )


def _publish_to_partners(event: CareRequestEvent) -> None:
    if not apps.is_installed("conciergerie.partners"):
        return
    from conciergerie.partners import services as partners

    care_request = event.care_request
    partners.publish_event(
        event_type="care_request.state_changed",
        payload={
            "reference": care_request.reference,
            "patient": care_request.patient.reference,
            "state": event.to_state,
            "previous_state": event.from_state or None,
            "occurred_at": event.created_at,
        },
        about=care_request,
    )


@transaction.atomic
def announce_event(*, event_id: int) -> bool:
    """Run an event's side effects once: emails (outbox), partner webhooks, the
    on-duty alert. Returns False if they already ran (a second task, a sweep)."""
    now = timezone.now()
    claimed = CareRequestEvent.objects.filter(
        pk=event_id, announced_at__isnull=True
    ).update(announced_at=now)
    if not claimed:
        return False
    event = CareRequestEvent.objects.select_related(
        "care_request__patient__user", "care_request__assigned_to"
    ).get(pk=event_id)
    care_request = event.care_request
    touch_activity(care_request.patient)
    with translation.override(settings.LANGUAGE_CODE):
        if event.kind in (
            CareRequestEvent.Kind.CREATED,
            CareRequestEvent.Kind.TRANSITION,
        ):
            _publish_to_partners(event)
        if event.to_state == State.EMERGENCY and event.kind in (
            CareRequestEvent.Kind.TRANSITION,
            CareRequestEvent.Kind.MESSAGE,
        ):
            alert_on_duty(event)
        elif (
            event.kind == CareRequestEvent.Kind.CREATED
            and care_request.state != State.EMERGENCY
        ):
            _tell_patient(event, "received")
        elif event.kind == CareRequestEvent.Kind.TRANSITION and (
            event.to_state in PATIENT_NOTICES
        ):
            _tell_patient(event, PATIENT_NOTICES[event.to_state])
        elif event.kind == CareRequestEvent.Kind.ASSIGNMENT:
            _tell_assignee(event)
    return True


def announce_pending_events(*, older_than: timedelta | None = None) -> int:
    """Events whose task was lost (broker restarted) get their side effects now."""
    grace = older_than
    if grace is None:
        grace = timedelta(seconds=settings.CARE_REQUEST_ANNOUNCE_GRACE_SECONDS)
    horizon = timezone.now() - grace
    done = 0
    for event_id in (
        CareRequestEvent.objects.unannounced()
        .filter(created_at__lt=horizon)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    ):
        try:
            done += int(announce_event(event_id=event_id))
        except Exception:  # one broken event must not stop the others
            logger.exception("Care request event %s could not be announced", event_id)
    return done


# --- Staff role helpers shared with the team services ---------------------------------


def require_staff(
    user, roles: Iterable[str] = STAFF_ROLES, *, message: str = ""
) -> None:
    if not staff_roles_of(user) & frozenset(roles):
        raise RoleNotAllowed(message or _("Your role does not allow this."))
