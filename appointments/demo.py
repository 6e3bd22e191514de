"""Demo appointments: a living agenda for `make run`.

Past visits (done, missed, cancelled), upcoming ones booked through the booking
service (so their confirmations and reminders are in the outbox: one reminder
falls due a few minutes after seeding, for the beat sweep and the worker to
send), a proposal of slots waiting for the demo patient, a waitlist, pharmacies,
and a practitioner login to see the practitioner's side. Idempotent: a second
run finds the demo appointments and adds nothing.

Seeding runs Celery tasks in-process (the confirmations go to the console
backends at once): it never needs the broker.
"""

import random
from contextlib import contextmanager
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from conciergerie import celery_app
from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.accounts.services import create_user_with_role
from conciergerie.demo import DEMO_PASSWORD
from patients.models import CareRequest, Channel, Patient
from specialists.models import Practitioner

from . import availability, services
from .models import Appointment, Face, Pharmacy

SEED = 2026
DEMO_PATIENT_EMAIL = "patient@conciergerie.local"
DEMO_PARENT_EMAIL = "parent@conciergerie.local"
DEMO_PRACTITIONER_EMAIL = "docteur@conciergerie.local"
PHARMACIES = [
    ("Pharmacie du Marché", "3 place du Marché", "75011", "Paris"),
    ("Pharmacie de la Gare", "18 cours de Verdun", "69002", "Lyon"),
    ("Grande Pharmacie du Vieux-Port", "5 quai du Port", "13002", "Marseille"),
]


@contextmanager
def tasks_in_process():
    """Run Celery tasks in this process until the seeding transaction commits.

    Tasks are sent after commit (`delay_on_commit`): the switch back is the last
    commit callback, so every task of the seeding runs here, none in Redis.
    """
    conf = celery_app.conf
    saved = conf.task_always_eager

    def restore() -> None:
        conf.task_always_eager = saved

    conf.task_always_eager = True
    try:
        yield
    except BaseException:
        restore()
        raise
    transaction.on_commit(restore)


def seed(*, stdout) -> None:
    if Appointment.objects.filter(booked_via=Face.SEED).exists():
        stdout.write("  appointments: demo agenda already present")
        return
    practitioners = list(
        Practitioner.objects.proposable()
        .filter(source=Practitioner.Source.DEMO, opening_hours__isnull=False)
        .distinct()
        .order_by("pk")[:60]
    )
    patients = list(
        Patient.objects.active()
        .filter(registration_channel=Channel.SEED, merged_into__isnull=True)
        .filter(Q(user__isnull=False) | Q(guardianships__isnull=False))
        .distinct()
        .order_by("created_at")
    )
    if not practitioners or not patients:
        stdout.write("  appointments: no demo practitioners or patients, skipped")
        return
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    coordinator = User.objects.filter(email="coordinator@conciergerie.local").first()
    with tasks_in_process():
        counts = _seed(practitioners, patients, rng=rng, by=coordinator)
    stdout.write(
        "  appointments: {past} past, {future} upcoming, reminder due at {due}".format(
            **counts
        )
    )
    stdout.write(
        f"  practitioner login: {DEMO_PRACTITIONER_EMAIL} (password: {DEMO_PASSWORD})"
    )


def _book(patient, practitioner, slot, *, by, **kwargs) -> Appointment | None:
    try:
        return services.book_appointment(
            patient=patient,
            practitioner=practitioner,
            kind=slot.kind,
            starts_at=slot.starts_at,
            by=by,
            via=Face.SEED,
            **kwargs,
        )
    except ValidationError:
        return None


def _slots(practitioner, *, kind, after, days=7):
    return availability.compute(
        practitioner.pk, kind=kind, start=after, end=after + timedelta(days=days)
    )


def _seed(practitioners, patients, *, rng, by) -> dict:
    now = timezone.now()
    camille = next(
        (p for p in patients if p.user and p.user.email == DEMO_PATIENT_EMAIL),
        patients[0],
    )
    future = 0
    # The reminder demo: the earliest slot just over a day ahead, so that its
    # reminder falls due minutes after seeding (the day before, same time).
    soonest = None
    for practitioner in practitioners[:40]:
        slots = _slots(
            practitioner,
            kind="first_visit",
            after=now + timedelta(hours=24, minutes=3),
            days=2,
        )
        if slots and (soonest is None or slots[0].starts_at < soonest[1].starts_at):
            soonest = (practitioner, slots[0])
    due = "—"
    if soonest is not None and _book(camille, *soonest, by=by):
        future += 1
        due = timezone.localtime(soonest[1].starts_at - timedelta(hours=24)).strftime(
            "%d/%m %H:%M"
        )
    doctor = practitioners[0]
    _practitioner_login(doctor)
    # Upcoming appointments across the demo files, one confirmed, one by video.
    for index, patient in enumerate(patients[:24]):
        practitioner = practitioners[(index * 7) % len(practitioners)]
        if index % 3 == 0:
            practitioner = doctor
        kind = "teleconsultation" if index % 5 == 4 else "first_visit"
        slots = _slots(
            practitioner, kind=kind, after=now + timedelta(days=2 + index % 10)
        )
        if not slots:
            continue
        appointment = _book(patient, practitioner, rng.choice(slots[:12]), by=by)
        if appointment is None:
            continue
        future += 1
        if index % 4 == 1:
            services.confirm_appointment(
                appointment=appointment, by=None, via=Face.SEED
            )
        if index == 2:
            services.join_waitlist(
                patient=patient,
                practitioner=practitioner,
                kind=kind,
                appointment=appointment,
                by=None,
            )
    future += _book_waiting_requests(practitioners, now=now, by=by)
    past = _past_visits(doctor, practitioners, patients, rng=rng, now=now)
    _proposal(camille, practitioners, now=now, by=by)
    _pharmacies(camille, by=camille.user)
    if camille.user is not None:
        services.calendar_feed(patient=camille, by=camille.user)
    return {"past": past, "future": future, "due": due}


def _book_waiting_requests(practitioners, *, now, by) -> int:
    """Demo care requests waiting for a booking get one (they move to scheduled)."""
    booked = 0
    waiting = CareRequest.objects.filter(
        state=CareRequest.State.PROPOSED, patient__registration_channel=Channel.SEED
    ).order_by("created_at")[:2]
    for index, request in enumerate(waiting):
        practitioner = practitioners[-1 - index]
        slots = _slots(practitioner, kind="first_visit", after=now + timedelta(days=4))
        if slots and _book(
            request.patient, practitioner, slots[0], by=by, care_request=request
        ):
            booked += 1
    return booked


def _past_visits(doctor, practitioners, patients, *, rng, now) -> int:
    """Visits of the last weeks, written as they ended (no messages for the past)."""
    outcomes = [
        Appointment.State.DONE,
        Appointment.State.DONE,
        Appointment.State.DONE,
        Appointment.State.NO_SHOW,
        Appointment.State.CANCELLED,
    ]
    created = []
    for index, patient in enumerate(patients[:20]):
        practitioner = doctor if index % 4 == 0 else rng.choice(practitioners)
        place = practitioner.places.filter(is_active=True).first()
        if place is None:
            continue
        day = timezone.localtime(now - timedelta(days=3 + index * 2))
        starts_at = day.replace(hour=9 + index % 8, minute=0, second=0, microsecond=0)
        state = outcomes[index % len(outcomes)]
        appointment = Appointment(
            practitioner=practitioner,
            place=place,
            patient=patient,
            consultation_kind="first_visit",
            specialty=practitioner.specialties.first(),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            state=state,
            booked_via=Face.SEED,
            booked_at=starts_at - timedelta(days=10),
            done_at=starts_at + timedelta(minutes=30)
            if state == Appointment.State.DONE
            else None,
            no_show_at=starts_at + timedelta(minutes=20)
            if state == Appointment.State.NO_SHOW
            else None,
            cancelled_at=starts_at - timedelta(days=2)
            if state == Appointment.State.CANCELLED
            else None,
            cancellation_reason="Empêchement professionnel"
            if state == Appointment.State.CANCELLED
            else "",
        )
        appointment.save()
        created.append(appointment)
        if state == Appointment.State.DONE and index % 2 == 0:
            services.request_report(appointment=appointment, by=None, now=now)
        if state == Appointment.State.NO_SHOW:
            services.flag_repeated_no_shows(patient=patient, now=now)
    return len(created)


def _proposal(patient, practitioners, *, now, by) -> None:
    if by is None:
        return
    choices = []
    for practitioner in practitioners[10:13]:
        slots = _slots(practitioner, kind="first_visit", after=now + timedelta(days=3))
        if slots:
            choices.append(
                services.SlotChoice(
                    practitioner=practitioner,
                    kind="first_visit",
                    starts_at=slots[0].starts_at,
                )
            )
    if choices:
        services.propose_slots(
            patient=patient,
            slots=choices,
            by=by,
            message="Voici trois cardiologues disponibles la semaine prochaine.",
        )


def _pharmacies(patient, *, by) -> None:
    rows = [
        Pharmacy.objects.get_or_create(
            name=name,
            defaults={
                "address": address,
                "postal_code": postal_code,
                "city": city,
                "email": f"officine{index}@pharmacies.example.fr",
            },
        )[0]
        for index, (name, address, postal_code, city) in enumerate(PHARMACIES, 1)
    ]
    if by is not None:
        services.choose_pharmacy(patient=patient, pharmacy=rows[0], by=by)


def _practitioner_login(practitioner: Practitioner) -> None:
    """A login for one demo practitioner, to see /appointments/practitioner/."""
    from allauth.account.models import EmailAddress

    user = create_user_with_role(
        email=DEMO_PRACTITIONER_EMAIL,
        role=Role.PRACTITIONER,
        password=DEMO_PASSWORD,
        first_name=practitioner.first_name,
        last_name=practitioner.last_name,
    )
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    if not Practitioner.objects.filter(user=user).exists():
        Practitioner.objects.filter(pk=practitioner.pk, user__isnull=True).update(
            user=user
        )
