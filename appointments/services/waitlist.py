"""The waitlist: patients ask for an earlier slot; when one frees up, the waiting
patients are offered it in order of arrival, and the first to accept gets it.

Offers go out together (a freed slot does not wait for one patient to read their
mail), each with a signed link; accepting books the slot, or moves the patient's
appointment to it, through the same exclusion constraint as any booking, so two
patients accepting at the same instant cannot both get it.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from specialists.models import ConsultationType, Practitioner

from .. import access, availability, links, outbox, rules, tasks
from ..models import Appointment, WaitlistEntry, WaitlistOffer
from .booking import SlotTaken, book_appointment, reschedule_appointment


@transaction.atomic
def join_waitlist(
    *,
    patient,
    practitioner: Practitioner,
    kind: str,
    by,
    appointment: Appointment | None = None,
    not_after: datetime | None = None,
) -> WaitlistEntry:
    """Put the patient on the practitioner's waitlist (once per kind)."""
    if not access.may_book_for(by, patient):
        raise PermissionDenied
    if kind not in ConsultationType.Kind.values:
        raise ValidationError(
            {"kind": ValidationError(_("Unknown consultation type."), code="invalid")}
        )
    if appointment is not None:
        if appointment.patient_id != patient.pk or not appointment.is_upcoming:
            raise ValidationError(
                _("Only an upcoming appointment can be brought forward."),
                code="not_upcoming",
            )
        practitioner = appointment.practitioner
        kind = appointment.consultation_kind
    if (
        WaitlistEntry.objects.waiting()
        .filter(patient=patient, practitioner=practitioner, consultation_kind=kind)
        .exists()
    ):
        raise ValidationError(
            _("You are already on this practitioner's waitlist."),
            code="already_waiting",
        )
    return WaitlistEntry.objects.create(
        patient=patient,
        practitioner=practitioner,
        consultation_kind=kind,
        appointment=appointment,
        not_after=not_after,
        created_by=by if by is not None and by.is_authenticated else None,
    )


@transaction.atomic
def leave_waitlist(*, entry: WaitlistEntry, by) -> WaitlistEntry:
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if not access.may_book_for(by, entry.patient):
        raise PermissionDenied
    if can_proceed(entry.withdraw):
        entry.withdraw()
        entry.save(update_fields=["state", "updated_at"])
    return entry


def _candidates(
    *, practitioner_id: int, kind: str, starts_at: datetime, exclude_patient=None
):
    """Waiting entries this slot would help, in order of arrival."""
    entries = (
        WaitlistEntry.objects.waiting()
        .filter(practitioner_id=practitioner_id, consultation_kind=kind)
        .filter(Q(not_after__isnull=True) | Q(not_after__gte=starts_at))
        .filter(
            Q(appointment__isnull=True)
            | Q(
                appointment__starts_at__gt=starts_at,
                appointment__state__in=[
                    Appointment.State.BOOKED,
                    Appointment.State.CONFIRMED,
                ],
            )
        )
        .select_related("patient", "practitioner")
        .order_by("created_at", "pk")
    )
    if exclude_patient is not None:
        entries = entries.exclude(patient_id=exclude_patient)
    return entries


@transaction.atomic
def offer_freed_slot(
    *, appointment: Appointment, now: datetime | None = None
) -> list[WaitlistOffer]:
    """Offer the slot a cancelled or moved appointment left to the waitlist."""
    now = now or timezone.now()
    kind = appointment.consultation_kind
    if appointment.starts_at - now < rules.notice(kind, "book"):
        return []
    slot = availability.find_slot(
        appointment.practitioner_id,
        kind=kind,
        starts_at=appointment.starts_at,
        place_id=appointment.place_id,
        now=now,
    )
    if slot is None:  # booked again meanwhile, or closed since
        return []
    entries = list(
        _candidates(
            practitioner_id=appointment.practitioner_id,
            kind=kind,
            starts_at=slot.starts_at,
            exclude_patient=appointment.patient_id,
        )[: settings.APPOINTMENT_WAITLIST_OFFER_BATCH]
    )
    expires_at = min(
        now + timedelta(minutes=settings.APPOINTMENT_WAITLIST_OFFER_MINUTES),
        slot.starts_at - rules.notice(kind, "book"),
    )
    offers = []
    for rank, entry in enumerate(entries, start=1):
        offer, created = WaitlistOffer.objects.get_or_create(
            entry=entry,
            starts_at=slot.starts_at,
            defaults={
                "ends_at": slot.ends_at,
                "place_id": slot.place_id,
                "rank": rank,
                "expires_at": expires_at,
            },
        )
        if not created:
            continue
        offers.append(offer)
        outbox.schedule_to_patient(
            obj=offer,
            patient=entry.patient,
            kind="offer",
            template="waitlist_offer",
            context={
                "practitioner": entry.practitioner.display_name,
                "starts_at": slot.starts_at,
                "video": slot.is_remote,
                "link": links.url(
                    "appointments:offer", links.Purpose.OFFER, offer.public_id
                ),
                "answer_before": expires_at,
            },
            now=now,
            expires_at=expires_at,
        )
    return offers


def accept_offer(
    *, offer: WaitlistOffer, by, via: str, now: datetime | None = None
) -> Appointment:
    """Take the offered slot: the first patient to accept wins it.

    A patient who lost the race gets `SlotTaken` (with other free slots) and
    their offer is recorded as taken; their place in the waitlist is kept.
    """
    now = now or timezone.now()
    failure: ValidationError | None = None
    with transaction.atomic():
        offer = (
            WaitlistOffer.objects.select_for_update(of=("self",))
            .select_related("entry__patient", "entry__practitioner")
            .get(pk=offer.pk)
        )
        if not access.may_book_for(by, offer.entry.patient):
            raise PermissionDenied
        if offer.state == WaitlistOffer.State.ACCEPTED and offer.appointment:
            return offer.appointment
        if offer.state != WaitlistOffer.State.OPEN:
            raise ValidationError(
                _("This offer is closed: the slot went to another patient."),
                code="offer_closed",
            )
        entry = WaitlistEntry.objects.select_for_update().get(pk=offer.entry_id)
        if entry.state != WaitlistEntry.State.WAITING:
            raise ValidationError(
                _("You are no longer on this waitlist."), code="not_waiting"
            )
        if offer.expires_at <= now:
            offer.expire()
            offer.save(update_fields=["state", "decided_at", "updated_at"])
            failure = ValidationError(
                _("This offer has expired."), code="offer_expired"
            )
        else:
            try:
                with transaction.atomic():
                    appointment = _take(offer, entry, by=by, via=via, now=now)
            except SlotTaken as error:
                failure = error
                offer.lose()
                offer.save(update_fields=["state", "decided_at", "updated_at"])
            else:
                offer.accept(appointment=appointment)
                offer.save(
                    update_fields=["state", "decided_at", "appointment", "updated_at"]
                )
                entry.fulfil()
                entry.save(update_fields=["state", "fulfilled_at", "updated_at"])
                # After commit: the losers hold their own offer's lock until
                # they learn they lost; closing their offers here would
                # wait for them while they wait for this booking.
                tasks.close_other_offers.delay_on_commit(offer.pk)
                return appointment
    # Raised after the block: the offer's new state (lost, expired) is kept.
    raise failure


def _take(offer: WaitlistOffer, entry: WaitlistEntry, *, by, via: str, now):
    current = entry.appointment
    if current is not None and current.state in (
        Appointment.State.BOOKED,
        Appointment.State.CONFIRMED,
    ):
        return reschedule_appointment(
            appointment=current,
            starts_at=offer.starts_at,
            place=offer.place,
            by=by,
            via=via,
            reason=_("An earlier slot from the waitlist"),
            now=now,
        )
    return book_appointment(
        patient=entry.patient,
        practitioner=entry.practitioner,
        kind=entry.consultation_kind,
        starts_at=offer.starts_at,
        place=offer.place,
        by=by,
        via=via,
        now=now,
    )


def close_other_offers(*, offer: WaitlistOffer, now: datetime | None = None) -> int:
    """The slot is gone: the other patients' offers for it are closed."""
    now = now or timezone.now()
    return (
        WaitlistOffer.objects.filter(
            entry__practitioner_id=offer.entry.practitioner_id,
            starts_at=offer.starts_at,
            state=WaitlistOffer.State.OPEN,
        )
        .exclude(pk=offer.pk)
        .update(state=WaitlistOffer.State.TAKEN, decided_at=now, updated_at=now)
    )


@transaction.atomic
def close_stale_waitlist(*, now: datetime | None = None) -> int:
    """Expire offers past their time and entries that can no longer be served."""
    now = now or timezone.now()
    offers = WaitlistOffer.objects.filter(
        state=WaitlistOffer.State.OPEN, expires_at__lte=now
    ).update(state=WaitlistOffer.State.EXPIRED, decided_at=now, updated_at=now)
    entries = (
        WaitlistEntry.objects.waiting()
        .filter(
            Q(not_after__lte=now)
            | Q(appointment__starts_at__lte=now)
            | Q(
                appointment__state__in=[
                    Appointment.State.CANCELLED,
                    Appointment.State.LATE_CANCELLED,
                    Appointment.State.DONE,
                    Appointment.State.NO_SHOW,
                ]
            )
        )
        .update(state=WaitlistEntry.State.EXPIRED, updated_at=now)
    )
    return offers + entries
