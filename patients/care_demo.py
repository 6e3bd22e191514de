"""Demo care requests: one in every state, an emergency among them, with their
timelines, messages, calls, notes, tasks and a shared care plan.

Built through the services, as the team would have done it, then dated back so
that the lists show ages and a few missed deadlines. Idempotent: a second run finds
the demo requests and adds nothing. The demo patients and staff must exist first.
"""

from datetime import timedelta

from django.utils import timezone

from conciergerie.accounts.models import User

from .models import (
    CareRequest,
    CareRequestEvent,
    Channel,
    Interaction,
    Patient,
)
from .services import care_requests, care_team, give_health_data_consent

State = CareRequest.State

#: (who, kind, channel, need, specialty, target state, days ago). Several wait
#: with a proposal: the appointments demo books some of them.
REQUESTS = [
    (
        "own",
        "specialist",
        "portal",
        "Je voudrais faire contrôler plusieurs grains de beauté, dont un qui a "
        "changé de couleur cet été.",
        "dermatology",
        State.RECEIVED,
        0,
    ),
    (
        "other:0",
        "specialist",
        "phone",
        "Douleurs au genou droit depuis une chute au ski, le genou gonfle en fin "
        "de journée.",
        "orthopaedics",
        State.QUALIFIED,
        3,
    ),
    (
        "other:1",
        "specialist",
        "portal",
        "Palpitations depuis quelques semaines, surtout le soir. Mon médecin "
        "traitant conseille un bilan cardiologique.",
        "cardiology",
        State.MATCHING,
        5,
    ),
    (
        "child:0",
        "specialist",
        "portal",
        "Ma fille de 9 ans se plaint de maux de ventre réguliers depuis la rentrée.",
        "paediatrics",
        State.PROPOSED,
        6,
    ),
    (
        "parent",
        "exams",
        "portal",
        "Je souhaite une coloscopie de dépistage : mon père a eu un cancer du côlon.",
        "gastroenterology",
        State.PROPOSED,
        4,
    ),
    (
        "child:1",
        "specialist",
        "portal",
        "Mon fils de 5 ans fait des otites à répétition depuis l'hiver dernier.",
        "ent",
        State.PROPOSED,
        3,
    ),
    (
        "other:2",
        "teleconsultation",
        "email",
        "Suivi de mon anxiété : je cherche un psychiatre qui consulte en vidéo, en "
        "anglais si possible.",
        "psychiatry",
        State.SCHEDULED,
        9,
    ),
    (
        "other:3",
        "exams",
        "api",
        "Bilan ophtalmologique demandé par la clinique après une baisse de vision "
        "progressive.",
        "ophthalmology",
        State.IN_CARE,
        14,
    ),
    (
        "own",
        "administrative",
        "phone",
        "Aide pour remplir le protocole de soins ALD et l'envoyer à la CPAM.",
        "",
        State.FOLLOW_UP,
        20,
    ),
    (
        "other:4",
        "specialist",
        "portal",
        "Bilan ORL pour des acouphènes apparus il y a deux mois.",
        "ent",
        State.CLOSED,
        40,
    ),
    (
        "other:5",
        "second_opinion",
        "portal",
        "Je souhaite un second avis avant une opération de la hanche.",
        "orthopaedics",
        State.CANCELLED,
        12,
    ),
    (
        "other:6",
        "specialist",
        "portal",
        "Depuis une heure j'ai une douleur dans la poitrine qui serre et qui monte "
        "dans le bras gauche.",
        "",
        State.EMERGENCY,
        0,
    ),
    (
        "other:7",
        "specialist",
        "portal",
        "Migraines fréquentes depuis des mois, le traitement ne suffit plus.",
        "",
        State.RECEIVED,
        2,
    ),
]

#: The steps that lead from "received" to each state, with their inputs.
PATHS: dict[str, list[str]] = {
    State.RECEIVED: [],
    State.QUALIFIED: ["qualify"],
    State.MATCHING: ["qualify", "start_search"],
    State.PROPOSED: ["qualify", "start_search", "propose"],
    State.SCHEDULED: ["qualify", "start_search", "propose", "schedule"],
    State.IN_CARE: ["qualify", "start_search", "propose", "schedule", "start_care"],
    State.FOLLOW_UP: ["qualify", "start_care", "start_follow_up"],
    State.CLOSED: [
        "qualify",
        "start_search",
        "propose",
        "schedule",
        "start_care",
        "start_follow_up",
        "close",
    ],
    State.CANCELLED: ["qualify", "start_search", "cancel"],
    State.EMERGENCY: [],
}
INPUTS = {
    "qualify": {"urgency": "soon", "comment": "Demande claire, patient joignable."},
    "start_search": {"comment": ""},
    "propose": {"comment": "Deux praticiens proposés par téléphone."},
    "schedule": {"appointment_reference": "Cabinet du Dr Garnier, mardi 10 h"},
    "start_care": {"comment": "Consultation faite."},
    "start_follow_up": {"comment": "Compte rendu reçu."},
    "close": {"comment": "Tout est réglé."},
    "cancel": {"reason": "Le patient a trouvé un rendez-vous par lui-même."},
}


def seed(*, stdout) -> None:
    if CareRequest.objects.filter(patient__registration_channel=Channel.SEED).exists():
        stdout.write("Demo care requests already present.")
        return
    staff: dict[str, User] = {}
    for role in ("adviser", "coordinator", "manager"):
        user = User.objects.filter(email=f"{role}@conciergerie.local").first()
        if user is None:
            stdout.write("Demo staff missing: no demo care requests.")
            return
        staff[role] = user
    people = _people()
    made = []
    for who, kind, channel, need, specialty, state, days in REQUESTS:
        patient = people.get(who)
        if patient is None:
            continue
        made.append(
            _request(
                patient,
                staff=staff,
                kind=kind,
                channel=channel,
                need=need,
                specialty=specialty,
                state=state,
                days=days,
            )
        )
    _care_plan(people["own"], by=staff["adviser"])
    # The demo's history is history: its emails are not sent again.
    CareRequestEvent.objects.filter(care_request__in=made).update(
        announced_at=timezone.now()
    )
    stdout.write(f"{len(made)} demo care requests, one in every state.")


def _people() -> dict[str, Patient]:
    seeded = Patient.objects.filter(
        registration_channel=Channel.SEED, merged_into__isnull=True
    )
    own = seeded.filter(user__email="patient@conciergerie.local").first()
    parent = seeded.filter(user__email="parent@conciergerie.local").first()
    children = list(
        seeded.filter(guardianships__guardian__email="parent@conciergerie.local")
        .order_by("birth_date")
        .distinct()
    )
    others = list(
        seeded.filter(user__isnull=True, guardianships__isnull=True)
        .exclude(duplicate_review_needed=True)
        .order_by("created_at")[:8]
    )
    people: dict[str, Patient] = {}
    if own is not None:
        people["own"] = own
    if parent is not None:
        people["parent"] = parent
    for index, child in enumerate(children):
        people[f"child:{index}"] = child
    for index, patient in enumerate(others):
        people[f"other:{index}"] = patient
    for patient in people.values():
        give_health_data_consent(patient=patient, by=None, channel=Channel.SEED)
    return people


def _filer(patient: Patient, channel: str, staff: dict[str, User]) -> User:
    if channel in ("phone", "email") or channel == "api":
        return staff["coordinator"]
    if patient.user is not None:
        return patient.user
    guardianship = patient.guardianships.filter(ended_at__isnull=True).first()
    return guardianship.guardian if guardianship else staff["coordinator"]


def _request(
    patient: Patient,
    *,
    staff: dict[str, User],
    kind: str,
    channel: str,
    need: str,
    specialty: str,
    state: str,
    days: int,
) -> CareRequest:
    by = _filer(patient, channel, staff)
    care_request = care_requests.submit_care_request(
        patient=patient,
        by=by,
        channel=channel,
        kind=kind,
        need=need,
        specialty="",
        preferences={"languages": ["en"]} if kind == "teleconsultation" else None,
    )
    if care_request.assigned_to is None and state != State.RECEIVED:
        care_team.assign(
            care_request=care_request, to=staff["coordinator"], by=staff["manager"]
        )
    if state != State.RECEIVED:
        care_team.post_message(
            care_request=care_request,
            by=staff["coordinator"],
            body="Bonjour, je m'occupe de votre demande et reviens vite vers vous.",
        )
        care_team.log_interaction(
            care_request=care_request,
            by=staff["coordinator"],
            channel=Interaction.Channel.PHONE,
            direction=Interaction.Direction.OUTGOING,
            party=Interaction.Party.PATIENT,
            summary="Appel de prise de contact : disponibilités et préférences notées.",
            duration_minutes=7,
        )
    for name in PATHS[state]:
        actor = staff["adviser"] if name == "qualify" else staff["coordinator"]
        data = dict(INPUTS[name])
        if name == "qualify":
            data["specialty"] = specialty or care_request.suggested_specialty
            if not care_request.needs_practitioner:
                data["specialty"] = specialty
        care_request = care_requests.perform_transition(
            care_request=care_request, name=name, by=actor, data=data
        )
    if state in (State.MATCHING, State.SCHEDULED, State.FOLLOW_UP):
        _team_work(care_request, staff=staff)
    if state == State.PROPOSED:
        message_by = _filer(care_request.patient, "portal", staff)
        if message_by != staff["coordinator"]:
            care_team.post_message(
                care_request=care_request,
                by=message_by,
                body="Merci ! Le mercredi après-midi nous arrangerait.",
            )
    if state == State.EMERGENCY:
        first = care_request.emergency_checklist.order_by("position").first()
        if first is not None:
            care_requests.check_emergency_step(
                item=first,
                by=staff["coordinator"],
                note="Patient rappelé : le 15 est prévenu, le SAMU est en route.",
            )
    _date_back(care_request, days=days)
    return care_request


def _team_work(care_request: CareRequest, *, staff: dict[str, User]) -> None:
    care_team.add_internal_note(
        care_request=care_request,
        by=staff["coordinator"],
        body="Patient anxieux : privilégier les rendez-vous du matin.",
    )
    care_team.log_interaction(
        care_request=care_request,
        by=staff["coordinator"],
        channel=Interaction.Channel.PHONE,
        direction=Interaction.Direction.OUTGOING,
        party=Interaction.Party.SECRETARIAT,
        counterpart="Secrétariat du cabinet Garnier",
        summary="Premier créneau disponible dans trois semaines ; liste d'attente.",
        duration_minutes=4,
    )
    care_team.add_care_task(
        care_request=care_request,
        by=staff["coordinator"],
        kind="transport",
        title="Réserver un taxi conventionné aller-retour",
        owner=staff["coordinator"],
        due_at=timezone.now() + timedelta(days=2),
        shared_with_patient=True,
    )
    if care_request.kind == CareRequest.Kind.ADMINISTRATIVE:
        care_team.add_care_task(
            care_request=care_request,
            by=staff["coordinator"],
            kind="paperwork",
            title="Envoyer le protocole de soins ALD signé à la CPAM",
            owner=staff["coordinator"],
            due_at=timezone.now() - timedelta(days=1),
        )


def _date_back(care_request: CareRequest, *, days: int) -> None:
    """Move the request and its history back in time, deadlines included."""
    if not days:
        return
    shift = timedelta(days=days)
    arrived = care_request.created_at - shift
    CareRequest.objects.filter(pk=care_request.pk).update(created_at=arrived)
    for event in care_request.events.all():
        CareRequestEvent.objects.filter(pk=event.pk).update(
            created_at=event.created_at - shift
        )
    care_request.refresh_from_db()
    care_requests._set_due_dates(care_request, start=arrived)
    care_request.save(update_fields=care_requests.DUE_FIELDS)


def _care_plan(patient: Patient, *, by: User) -> None:
    plan = care_team.save_care_plan(
        patient=patient,
        by=by,
        goals=(
            "Faire surveiller la peau chaque année et tenir à jour le suivi de "
            "l'ALD, sans démarches à la charge de la patiente."
        ),
        shared_with_patient=True,
    )
    today = timezone.localdate()
    requests = CareRequest.objects.filter(patient=patient).order_by("created_at")
    for title, days, care_request in (
        ("Contrôle dermatologique des grains de beauté", 30, requests.first()),
        ("Renouvellement du protocole de soins ALD", 10, requests.last()),
        ("Bilan sanguin annuel", 90, None),
    ):
        care_team.add_care_plan_step(
            plan=plan,
            by=by,
            title=title,
            planned_for=today + timedelta(days=days),
            care_request=care_request,
        )
