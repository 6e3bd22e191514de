"""Proposals: the concierge offers a patient several free slots; the patient picks
one (in the portal or by the signed link in the email), which holds it for a few
minutes until they confirm."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from patients import services as patients
from specialists.models import PracticePlace, Practitioner, Specialty

from .. import access, availability, links, outbox
from ..models import Appointment, Face, ProposedSlot, SlotProposal
from .booking import book_appointment, release_hold


@dataclass(frozen=True)
class SlotChoice:
    practitioner: Practitioner
    kind: str
    starts_at: datetime
    place: PracticePlace | None = None


@transaction.atomic
def propose_slots(
    *,
    patient,
    slots: list[SlotChoice],
    by,
    shortlist=None,
    care_request=None,
    specialty=None,
    message: str = "",
    now: datetime | None = None,
) -> SlotProposal:
    """Offer free slots to a patient, who is told by email (and SMS) at once."""
    now = now or timezone.now()
    if not (access.is_back_office(by) and by.has_perm("appointments.add_slotproposal")):
        raise PermissionDenied
    if not slots:
        raise ValidationError(_("Choose at least one slot to propose."), code="no_slot")
    if care_request is None and shortlist is not None:
        care_request = _request_of_shortlist(shortlist)
    from .. import care

    care.check_bookable(care_request, patient)
    if specialty is None and care_request is not None and care_request.specialty:
        specialty = Specialty.objects.filter(code=care_request.specialty).first()
    checked = []
    for choice in slots:
        slot = availability.find_slot(
            choice.practitioner.pk,
            kind=choice.kind,
            starts_at=choice.starts_at,
            place_id=choice.place.pk if choice.place else None,
            now=now,
        )
        if slot is None:
            raise ValidationError(
                _("%(practitioner)s is no longer free at %(time)s.")
                % {
                    "practitioner": choice.practitioner,
                    "time": timezone.localtime(choice.starts_at).strftime(
                        "%d/%m/%Y %H:%M"
                    ),
                },
                code="slot_unavailable",
            )
        checked.append((choice, slot))
    proposal = SlotProposal.objects.create(
        patient=patient,
        care_request=care_request,
        shortlist=shortlist,
        specialty=specialty,
        message=message.strip(),
        created_by=by,
        expires_at=now + timedelta(days=settings.APPOINTMENT_PROPOSAL_DAYS),
    )
    ProposedSlot.objects.bulk_create(
        ProposedSlot(
            proposal=proposal,
            practitioner=choice.practitioner,
            place_id=slot.place_id,
            consultation_kind=choice.kind,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            position=position,
        )
        for position, (choice, slot) in enumerate(checked, start=1)
    )
    outbox.schedule_to_patient(
        obj=proposal,
        patient=patient,
        kind="proposal",
        template="proposal",
        context={
            "count": len(checked),
            "link": links.url(
                "appointments:proposal-link", links.Purpose.PROPOSAL, proposal.public_id
            ),
            "answer_before": proposal.expires_at,
        },
        now=now,
        expires_at=proposal.expires_at,
    )
    patients.touch_activity(patient)
    return proposal


def _request_of_shortlist(shortlist):
    """The care request a shortlist was made for (its reference), if any."""
    from patients.models import CareRequest, normalise_care_request_reference

    return CareRequest.objects.filter(
        reference=normalise_care_request_reference(shortlist.request_reference)
    ).first()


def _open_proposal(proposal_id: int, *, now: datetime) -> SlotProposal:
    proposal = SlotProposal.objects.select_for_update().get(pk=proposal_id)
    if proposal.state != SlotProposal.State.OPEN or proposal.expires_at <= now:
        raise ValidationError(
            _("This proposal is closed: ask your concierge for new slots."),
            code="proposal_closed",
        )
    return proposal


@transaction.atomic
def pick_proposed_slot(
    *, proposed_slot: ProposedSlot, by, via: str, now: datetime | None = None
) -> Appointment:
    """Hold the slot the patient picked; they confirm it within a few minutes.

    Picking another slot of the same proposal releases the first hold.
    """
    now = now or timezone.now()
    proposal = _open_proposal(proposed_slot.proposal_id, now=now)
    if not access.may_book_for(by, proposal.patient):
        raise PermissionDenied
    for held in Appointment.objects.filter(
        proposed_slot__proposal=proposal, state=Appointment.State.HELD
    ):
        release_hold(appointment=held, by=by, via=via)
    return book_appointment(
        patient=proposal.patient,
        practitioner=proposed_slot.practitioner,
        kind=proposed_slot.consultation_kind,
        starts_at=proposed_slot.starts_at,
        place=proposed_slot.place,
        by=by,
        via=via,
        hold=True,
        specialty=proposal.specialty,
        proposed_slot=proposed_slot,
        care_request=proposal.care_request,
        now=now,
    )


def accept_proposal(*, appointment: Appointment) -> SlotProposal:
    """The held slot of a proposal is now booked: the proposal is answered."""
    proposal = SlotProposal.objects.select_for_update().get(
        slots=appointment.proposed_slot_id
    )
    if can_proceed(proposal.accept):
        proposal.accept(appointment=appointment)
        proposal.save(
            update_fields=["state", "accepted_at", "appointment", "updated_at"]
        )
    return proposal


@transaction.atomic
def withdraw_proposal(*, proposal: SlotProposal, by) -> SlotProposal:
    if not (
        access.is_back_office(by) and by.has_perm("appointments.change_slotproposal")
    ):
        raise PermissionDenied
    proposal = SlotProposal.objects.select_for_update().get(pk=proposal.pk)
    if not can_proceed(proposal.withdraw):
        raise ValidationError(
            _("This proposal was already answered or withdrawn."), code="not_open"
        )
    proposal.withdraw()
    proposal.save(update_fields=["state", "updated_at"])
    for held in Appointment.objects.filter(
        proposed_slot__proposal=proposal, state=Appointment.State.HELD
    ):
        release_hold(appointment=held, by=by, via=Face.ADMIN)
    return proposal


def proposal_slots(proposal: SlotProposal, *, now: datetime | None = None) -> list:
    """The proposed slots with whether each is still free (taken ones are shown
    greyed, not hidden: the patient sees why)."""
    now = now or timezone.now()
    rows = list(proposal.slots.select_related("practitioner", "place"))
    result = []
    for slot in rows:
        free = (
            availability.find_slot(
                slot.practitioner_id,
                kind=slot.consultation_kind,
                starts_at=slot.starts_at,
                place_id=slot.place_id,
                now=now,
            )
            is not None
        )
        result.append((slot, free))
    return result
