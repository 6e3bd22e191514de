"""Demo directory: a few hundred practitioners in French cities, with hours.

Deterministic (a fixed random seed), idempotent (demo practitioners are known by
their RPPS number and created once) and fast (bulk inserts). The benchmark uses
the same generator for ten thousand practitioners.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from faker import Faker

from conciergerie.accounts.models import User

from . import services
from .availability import PARIS
from .geocoding import CITY_FALLBACK, ensure_postal_codes, geocode_many
from .models import (
    AvailabilityException,
    ConsultationType,
    OpeningHours,
    PracticePlace,
    Practitioner,
    Review,
    Specialty,
    VerificationRecord,
)
from .validators import luhn_check_digit

DEMO_COUNT = 400
#: The biggest cities get every specialty at least once.
TOP_CITIES = 8
#: Demo RPPS numbers start with these digits, which real ones do not use.
DEMO_RPPS_PREFIX = "19"
_SUBURBS = ("Boulogne-Billancourt", "Saint-Denis", "Versailles", "Montreuil")
CITIES = list(CITY_FALLBACK[:26]) + [
    city for city in CITY_FALLBACK if city[0] in _SUBURBS
]
#: Paris and the big cities have more practitioners than the others.
CITY_WEIGHTS = [
    {"Paris": 8, "Lyon": 3, "Marseille": 3, "Toulouse": 2, "Nice": 2}.get(city[0], 1)
    for city in CITIES
]
# How often each specialty comes up: general practice leads, as in real life.
SPECIALTY_WEIGHTS = {
    "general-practice": 8,
    "paediatrics": 3,
    "gynaecology-obstetrics": 3,
    "psychology": 3,
    "psychiatry": 2,
    "cardiology": 2,
    "dermatology": 2,
    "ophthalmology": 2,
    "ent": 2,
}
STREETS = [
    "rue de la République",
    "avenue Jean-Jaurès",
    "boulevard Victor-Hugo",
    "rue Pasteur",
    "place de la Mairie",
    "rue Gambetta",
    "avenue du Général-Leclerc",
    "rue Nationale",
    "cours Lafayette",
    "rue des Lilas",
    "rue Émile-Zola",
    "quai de la Loire",
]
EXTRA_LANGUAGES = [("en", 0.35), ("es", 0.1), ("de", 0.05), ("it", 0.05), ("ar", 0.06)]
BIOS = [
    "Consultations sur rendez-vous, suivi au long cours et coordination avec le "
    "médecin traitant.",
    "Exercice en cabinet de groupe, examens réalisés sur place.",
    "Prise en charge des adultes et des enfants, délais courts pour les "
    "nouveaux patients.",
    "Formation hospitalo-universitaire, consultations en français et en anglais.",
    "",
]


def demo_rpps(index: int) -> str:
    body = f"{DEMO_RPPS_PREFIX}{index:08d}"
    return body + luhn_check_digit(body)


@dataclass
class Batch:
    practitioners: list[Practitioner] = field(default_factory=list)
    specialties: list[list[int]] = field(default_factory=list)
    places: list[list[PracticePlace]] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)


def seed(*, stdout, count: int = DEMO_COUNT) -> None:
    """Create the demo directory; a second run adds nothing."""
    if ensure_postal_codes():
        stdout.write("  postal codes: La Poste's base is loaded")
    else:
        stdout.write("  postal codes: base absent, using the built-in cities")
    created = generate(count=count)
    total = Practitioner.objects.filter(source=Practitioner.Source.DEMO).count()
    stdout.write(f"  practitioners: {created} created, {total} demo in the directory")


def generate(*, count: int, seed: int = 2026, chunk: int = 2000) -> int:
    """Create the missing ones among the first `count` demo practitioners."""
    existing = set(
        Practitioner.objects.filter(rpps__startswith=DEMO_RPPS_PREFIX).values_list(
            "rpps", flat=True
        )
    )
    specialties = dict(Specialty.objects.values_list("code", "pk"))
    verifier = _verifier()
    created = 0
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    for start in range(0, count, chunk):
        indexes = range(start, min(start + chunk, count))
        # Draw every row, even existing ones, so that a later run gives each index
        # the same person whatever was created before.
        drawn = [_draw(index, rng, fake, specialties) for index in indexes]
        missing = [row for row in drawn if row["rpps"] not in existing]
        if missing:
            with transaction.atomic():
                _create(missing, verifier=verifier)
            created += len(missing)
    return created


def _verifier() -> User:
    adviser = User.objects.filter(email="adviser@conciergerie.local").first()
    if adviser is not None:
        return adviser
    user, _created = User.objects.get_or_create(
        email="annuaire@conciergerie.local",
        defaults={"first_name": "Annuaire", "is_active": False},
    )
    return user


def _draw(index: int, rng: random.Random, fake: Faker, specialties: dict) -> dict:
    codes = list(specialties)
    weights = [SPECIALTY_WEIGHTS.get(code, 1) for code in codes]
    grid = len(codes) * TOP_CITIES
    if index < grid:
        # Every specialty in each of the biggest cities, so that any search
        # there finds someone.
        code, city = codes[index % len(codes)], CITIES[index // len(codes)]
    elif index < grid + len(CITIES):
        code, city = rng.choices(codes, weights)[0], CITIES[index - grid]
    else:
        code = rng.choices(codes, weights)[0]
        city = rng.choices(CITIES, CITY_WEIGHTS)[0]
    second = rng.random() < 0.08 and code not in ("psychology", "general-practice")
    psychologist = code == "psychology"
    female = rng.random() < 0.55
    sector, fee = _fees(code, rng)
    languages = ["fr"] + [
        lang for lang, share in EXTRA_LANGUAGES if rng.random() < share
    ]
    remote = rng.random() < 0.4
    roll = rng.random()
    verification = "valid" if roll < 0.92 else ("never" if roll < 0.97 else "expired")
    return {
        "index": index,
        "rpps": demo_rpps(index),
        "first_name": fake.first_name_female() if female else fake.first_name_male(),
        "last_name": fake.last_name(),
        "female": female,
        "psychologist": psychologist,
        "specialties": [specialties[code]]
        + ([specialties["general-practice"]] if second else []),
        "code": code,
        "city": city,
        "postal_code": rng.choice(city[3].split()),
        "places": 2 if rng.random() < 0.15 else 1,
        "jitter": [
            (rng.uniform(-0.03, 0.03), rng.uniform(-0.04, 0.04)) for _ in range(2)
        ],
        "streets": [(rng.randint(1, 180), rng.choice(STREETS)) for _ in range(2)],
        "sector": sector,
        "fee": fee,
        "overrun": max(Decimal(0), fee - Decimal("31.50")) if sector != "1" else None,
        "negotiated": (fee - Decimal(5)) if rng.random() < 0.2 else None,
        "languages": languages,
        "remote": remote,
        "wheelchair": rng.random() < 0.6,
        "bio": rng.choice(BIOS),
        "buffer": rng.choice([0, 0, 5, 10]),
        "notice": rng.choice([60, 120, 240, 1440]),
        "horizon": rng.choice([30, 60, 60, 90]),
        "days": sorted(rng.sample(range(5), rng.randint(3, 5)))
        + ([5] if rng.random() < 0.2 else []),
        "afternoon_end": rng.choice([time(17), time(18), time(19)]),
        "remote_days": sorted(rng.sample(range(5), rng.randint(1, 2)))
        if remote
        else [],
        "first_minutes": 45 if psychologist else rng.choice([20, 30, 30, 40]),
        "holiday_in": rng.randint(3, 40) if rng.random() < 0.12 else None,
        "verification": verification,
        "verified_days": rng.randint(45, 540),
        "reviews": [
            rng.choices([5, 4, 3, 2, 1], [55, 30, 9, 4, 2])[0]
            for _ in range(rng.randint(0, 25))
        ]
        if rng.random() < 0.7
        else [],
    }


def _fees(code: str, rng: random.Random) -> tuple[str, Decimal]:
    if code == "psychology":
        return "nc", Decimal(rng.choice([50, 60, 70, 80]))
    if code == "general-practice":
        sector = rng.choices(["1", "2-optam", "2"], [85, 10, 5])[0]
        base = Decimal(30)
    else:
        sector = rng.choices(["1", "2-optam", "2"], [45, 35, 20])[0]
        base = Decimal("31.50") if code != "psychiatry" else Decimal(57)
    if sector == "1":
        return sector, base
    return sector, base + Decimal(rng.choice([10, 15, 20, 30, 40, 60]))


def _create(rows: list[dict], *, verifier: User) -> None:
    now = timezone.now()
    today = timezone.localdate()
    practitioners = []
    for row in rows:
        practitioner = Practitioner(
            civility=(
                Practitioner.Civility.MADAM
                if row["female"]
                else Practitioner.Civility.MISTER
            )
            if row["psychologist"]
            else Practitioner.Civility.DOCTOR,
            first_name=row["first_name"],
            last_name=row["last_name"],
            rpps=row["rpps"],
            profession=Practitioner.Profession.PSYCHOLOGIST
            if row["psychologist"]
            else Practitioner.Profession.PHYSICIAN,
            languages=row["languages"],
            gender=Practitioner.Gender.FEMALE
            if row["female"]
            else Practitioner.Gender.MALE,
            sector=row["sector"],
            consultation_fee=row["fee"],
            usual_overrun=row["overrun"],
            negotiated_rate=row["negotiated"],
            teleconsultation=row["remote"],
            wheelchair_accessible=row["wheelchair"],
            bio=row["bio"],
            contact_name=f"Secrétariat {row['last_name']}",
            contact_phone=f"01 {row['index'] % 100:02d} 00 00 {row['index'] % 97:02d}",
            buffer_minutes=row["buffer"],
            minimum_notice_minutes=row["notice"],
            booking_horizon_days=row["horizon"],
            source=Practitioner.Source.DEMO,
        )
        if row["verification"] == "valid":
            practitioner.verified_at = now - timedelta(days=30)
            practitioner.verified_until = today + timedelta(days=row["verified_days"])
        elif row["verification"] == "expired":
            practitioner.verified_at = now - timedelta(days=400)
            practitioner.verified_until = today - timedelta(days=5)
        practitioner.fill_derived_fields()
        practitioners.append(practitioner)
    Practitioner.objects.bulk_create(practitioners, batch_size=1000)

    through = Practitioner.specialties.through
    through.objects.bulk_create(
        [
            through(practitioner_id=practitioner.pk, specialty_id=specialty_id)
            for practitioner, row in zip(practitioners, rows, strict=True)
            for specialty_id in row["specialties"]
        ],
        batch_size=5000,
    )

    located = geocode_many((row["postal_code"], row["city"][0]) for row in rows)
    places: list[list[PracticePlace]] = []
    hours: list[OpeningHours] = []
    types: list[ConsultationType] = []
    exceptions: list[AvailabilityException] = []
    verifications: list[VerificationRecord] = []
    reviews: list[Review] = []
    for practitioner, row in zip(practitioners, rows, strict=True):
        name, city_lat, city_lon, _codes = row["city"]
        point = located.get((row["postal_code"], name))
        base_lat, base_lon = (
            (point.latitude, point.longitude) if point else (city_lat, city_lon)
        )
        owned = []
        for number in range(row["places"]):
            lat_jitter, lon_jitter = row["jitter"][number]
            street_number, street = row["streets"][number]
            owned.append(
                PracticePlace(
                    practitioner=practitioner,
                    name="Cabinet médical" if number == 0 else "Centre de santé",
                    address=f"{street_number} {street}",
                    postal_code=row["postal_code"],
                    commune=name,
                    latitude=round(base_lat + lat_jitter / 3, 6),
                    longitude=round(base_lon + lon_jitter / 3, 6),
                    geocode_precision=PracticePlace.GeocodePrecision.MANUAL,
                    phone=practitioner.contact_phone,
                    access_notes="Rez-de-chaussée, accès de plain-pied."
                    if row["wheelchair"]
                    else "2e étage sans ascenseur.",
                    is_primary=number == 0,
                )
            )
        places.append(owned)
        row["owned"] = owned
    PracticePlace.objects.bulk_create(
        [p for owned in places for p in owned], batch_size=5000
    )

    for practitioner, row in zip(practitioners, rows, strict=True):
        owned = row["owned"]
        for position, weekday in enumerate(row["days"]):
            place = owned[position % len(owned)]
            hours.append(
                OpeningHours(
                    practitioner=practitioner,
                    place=place,
                    weekday=weekday,
                    starts_at=time(9),
                    ends_at=time(12, 30),
                )
            )
            if weekday < 5:
                hours.append(
                    OpeningHours(
                        practitioner=practitioner,
                        place=place,
                        weekday=weekday,
                        starts_at=time(14),
                        ends_at=row["afternoon_end"],
                    )
                )
        for weekday in row["remote_days"]:
            hours.append(
                OpeningHours(
                    practitioner=practitioner,
                    place=None,
                    weekday=weekday,
                    starts_at=time(19),
                    ends_at=time(20, 30),
                    in_person=False,
                    remote=True,
                )
            )
        types.append(
            ConsultationType(
                practitioner=practitioner,
                kind=ConsultationType.Kind.FIRST_VISIT,
                duration_minutes=row["first_minutes"],
            )
        )
        types.append(
            ConsultationType(
                practitioner=practitioner,
                kind=ConsultationType.Kind.FOLLOW_UP,
                duration_minutes=max(15, row["first_minutes"] - 10),
            )
        )
        if row["remote"]:
            types.append(
                ConsultationType(
                    practitioner=practitioner,
                    kind=ConsultationType.Kind.TELECONSULTATION,
                    duration_minutes=20,
                )
            )
        if row["holiday_in"] is not None:
            first_day = timezone.localdate() + timedelta(days=row["holiday_in"])
            starts = datetime.combine(first_day, time.min, tzinfo=PARIS)
            exceptions.append(
                AvailabilityException(
                    practitioner=practitioner,
                    kind=AvailabilityException.Kind.HOLIDAY,
                    starts_at=starts,
                    ends_at=starts + timedelta(days=7),
                    reason="Congés",
                )
            )
        if row["verification"] != "never":
            verifications.append(
                VerificationRecord(
                    practitioner=practitioner,
                    kind=VerificationRecord.Kind.RPPS_REGISTRATION,
                    checked_by=verifier,
                    checked_at=practitioner.verified_at,
                    evidence="Fiche consultée sur annuaire.sante.fr (démonstration)",
                    valid_until=practitioner.verified_until,
                )
            )
        reviews.extend(
            Review(
                practitioner=practitioner,
                rating=rating,
                comment="",
                state=Review.State.PUBLISHED,
                moderated_by=verifier,
                moderated_at=now,
            )
            for rating in row["reviews"]
        )
    OpeningHours.objects.bulk_create(hours, batch_size=5000)
    ConsultationType.objects.bulk_create(types, batch_size=5000)
    AvailabilityException.objects.bulk_create(exceptions, batch_size=5000)
    VerificationRecord.objects.bulk_create(verifications, batch_size=5000)
    Review.objects.bulk_create(reviews, batch_size=5000)

    ids = [practitioner.pk for practitioner in practitioners]
    _refresh_ratings(ids)
    services.refresh_search_columns(practitioner_ids=ids)
    services.refresh_availability(practitioner_ids=ids)


def _refresh_ratings(ids: list[int]) -> None:
    """One UPDATE for the averages of many practitioners (demo and bench only)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE specialists_practitioner AS p
            SET rating_average = r.average, rating_count = r.total
            FROM (
                SELECT practitioner_id, ROUND(AVG(rating)::numeric, 2) AS average,
                       COUNT(*) AS total
                FROM specialists_review
                WHERE state = 'published' AND practitioner_id = ANY(%s)
                GROUP BY practitioner_id
            ) AS r
            WHERE p.id = r.practitioner_id
            """,
            [ids],
        )
