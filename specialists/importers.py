"""Import the Annuaire Santé extraction (`PS_LibreAcces_Personne_activite`).

The file has one line per (practitioner, place of practice), `|`-separated with a
trailing `|`, about two million lines. It is read line by line and written in
batches, so memory stays constant; practitioners are keyed on their RPPS number
and places on the structure's technical identifier, so running the import again
updates rows and never duplicates them. An imported practitioner is not verified:
a concierge still has to check them before anyone is proposed.
"""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from django.db import transaction
from django.utils import timezone

from .geocoding import geocode_many
from .models import PracticePlace, Practitioner, Specialty
from .text import fold
from .validators import RPPS_PATTERN

COLUMNS = [
    "Type d'identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Code civilité d'exercice",
    "Libellé civilité d'exercice",
    "Code civilité",
    "Libellé civilité",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
    "Libellé profession",
    "Code catégorie professionnelle",
    "Libellé catégorie professionnelle",
    "Code type savoir-faire",
    "Libellé type savoir-faire",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Code mode exercice",
    "Libellé mode exercice",
    "Numéro SIRET site",
    "Numéro SIREN site",
    "Numéro FINESS site",
    "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure",
    "Raison sociale site",
    "Enseigne commerciale site",
    "Complément destinataire (coord. structure)",
    "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)",
    "Code commune (coord. structure)",
    "Libellé commune (coord. structure)",
    "Code pays (coord. structure)",
    "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)",
    "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)",
    "Code Département (structure)",
    "Libellé Département (structure)",
    "Ancien identifiant de la structure",
    "Autorité d'enregistrement",
    "Code secteur d'activité",
    "Libellé secteur d'activité",
    "Code section tableau pharmaciens",
    "Libellé section tableau pharmaciens",
]
_INDEX = {name: position for position, name in enumerate(COLUMNS)}
RPPS_TYPE = "8"

PROFESSIONS: dict[str, str] = {
    "medecin": Practitioner.Profession.PHYSICIAN,
    "sage femme": Practitioner.Profession.MIDWIFE,
    "chirurgien dentiste": Practitioner.Profession.DENTIST,
    "psychologue": Practitioner.Profession.PSYCHOLOGIST,
    "masseur kinesitherapeute": Practitioner.Profession.PHYSIOTHERAPIST,
    "infirmier": Practitioner.Profession.NURSE,
}
#: Professions without a "savoir-faire": their specialty is the profession itself.
PROFESSION_SPECIALTY: dict[str, str] = {
    Practitioner.Profession.PSYCHOLOGIST: "psychology"
}
CIVILITIES: dict[str, str] = {
    "docteur": Practitioner.Civility.DOCTOR,
    "dr": Practitioner.Civility.DOCTOR,
    "professeur": Practitioner.Civility.PROFESSOR,
    "pr": Practitioner.Civility.PROFESSOR,
    "monsieur": Practitioner.Civility.MISTER,
    "m": Practitioner.Civility.MISTER,
    "madame": Practitioner.Civility.MADAM,
    "mme": Practitioner.Civility.MADAM,
    "mademoiselle": Practitioner.Civility.MADAM,
    "mlle": Practitioner.Civility.MADAM,
}
GENDERS: dict[str, str] = {
    "m": Practitioner.Gender.MALE,
    "mme": Practitioner.Gender.FEMALE,
    "mlle": Practitioner.Gender.FEMALE,
}


class Skip:
    """Why a line was not imported (stable codes, counted in the report)."""

    MALFORMED = "malformed"
    NOT_RPPS = "not_rpps"
    INVALID_RPPS = "invalid_rpps"
    MISSING_NAME = "missing_name"
    PROFESSION = "profession_not_in_directory"
    SPECIALTY_UNKNOWN = "specialty_not_in_catalogue"
    SPECIALTY_FILTERED = "specialty_filtered_out"
    DEPARTMENT_FILTERED = "department_filtered_out"
    NO_ADDRESS = "no_postal_address"


@dataclass
class RppsImportReport:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    practitioners_created: int = 0
    places_created: int = 0

    MAX_PROBLEMS = 200

    def skip(self, line_number: int, reason: str, detail: str = "") -> None:
        self.skipped[reason] += 1
        if reason == Skip.MALFORMED and len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(f"line {line_number}: {detail or reason}")

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class ParsedLine:
    number: int
    rpps: str
    first_name: str
    last_name: str
    civility: str
    gender: str
    profession: str
    specialty: str
    place_key: str
    place_name: str
    address: str
    address_complement: str
    postal_code: str
    commune: str
    phone: str


class HeaderError(ValueError):
    pass


def import_rpps(
    stream: IO[str],
    *,
    specialties: Iterable[str] = (),
    departments: Iterable[str] = (),
    batch_size: int = 1000,
    now: datetime | None = None,
) -> RppsImportReport:
    """Create or refresh practitioners from the extraction; see the module's doc."""
    now = now or timezone.now()
    report = RppsImportReport()
    wanted_specialties = set(specialties)
    wanted_departments = {department.upper() for department in departments}
    label_map = _specialty_label_map()
    specialty_ids = dict(Specialty.objects.values_list("code", "pk"))
    header = stream.readline()
    _check_header(header)
    lines = _parse(
        stream,
        report=report,
        label_map=label_map,
        wanted_specialties=wanted_specialties,
        wanted_departments=wanted_departments,
    )
    batch: list[ParsedLine] = []
    for parsed in lines:
        batch.append(parsed)
        if len(batch) >= batch_size:
            _write_batch(batch, report=report, specialty_ids=specialty_ids, now=now)
            batch = []
    if batch:
        _write_batch(batch, report=report, specialty_ids=specialty_ids, now=now)
    return report


def _check_header(header: str) -> None:
    columns = header.lstrip("\ufeff").rstrip("\r\n").split("|")
    if columns and columns[-1] == "":
        columns = columns[:-1]
    if columns != COLUMNS:
        raise HeaderError(
            "The first line is not the header of PS_LibreAcces_Personne_activite "
            f"({len(columns)} columns, expected {len(COLUMNS)})."
        )


def _specialty_label_map() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for code, labels, name in Specialty.objects.filter(is_active=True).values_list(
        "code", "rpps_labels", "name"
    ):
        for label in [*labels, name]:
            mapping.setdefault(fold(label), code)
    return mapping


def _parse(
    stream: IO[str],
    *,
    report: RppsImportReport,
    label_map: dict[str, str],
    wanted_specialties: set[str],
    wanted_departments: set[str],
) -> Iterator[ParsedLine]:
    for number, raw in enumerate(stream, start=2):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        report.read += 1
        values = line.split("|")
        if len(values) != len(COLUMNS) + 1 or values[-1] != "":
            report.skip(
                number,
                Skip.MALFORMED,
                f"{len(values) - 1} columns instead of {len(COLUMNS)}",
            )
            continue

        def get(column: str, values: list[str] = values) -> str:
            return values[_INDEX[column]].strip()

        if get("Type d'identifiant PP") != RPPS_TYPE:
            report.skip(number, Skip.NOT_RPPS)
            continue
        rpps = get("Identifiant PP")
        if not RPPS_PATTERN.match(rpps):
            national = get("Identification nationale PP")
            rpps = national[1:] if national.startswith(RPPS_TYPE) else national
        if not RPPS_PATTERN.match(rpps):
            report.skip(number, Skip.INVALID_RPPS, f"RPPS {rpps!r}")
            continue
        last_name, first_name = get("Nom d'exercice"), get("Prénom d'exercice")
        if not last_name:
            report.skip(number, Skip.MISSING_NAME)
            continue
        profession = PROFESSIONS.get(fold(get("Libellé profession")))
        if profession is None:
            report.skip(number, Skip.PROFESSION)
            continue
        specialty = PROFESSION_SPECIALTY.get(profession) or label_map.get(
            fold(get("Libellé savoir-faire")), ""
        )
        if not specialty:
            report.skip(number, Skip.SPECIALTY_UNKNOWN)
            continue
        if wanted_specialties and specialty not in wanted_specialties:
            report.skip(number, Skip.SPECIALTY_FILTERED)
            continue
        postal_code = get("Code postal (coord. structure)")
        if len(postal_code) != 5 or not postal_code.isdigit():
            report.skip(number, Skip.NO_ADDRESS)
            continue
        department = get("Code Département (structure)").upper() or (
            postal_code[:3] if postal_code.startswith("97") else postal_code[:2]
        )
        if wanted_departments and department not in wanted_departments:
            report.skip(number, Skip.DEPARTMENT_FILTERED)
            continue
        civility_code = fold(get("Code civilité"))
        civility = CIVILITIES.get(fold(get("Libellé civilité d'exercice"))) or (
            CIVILITIES.get(fold(get("Libellé civilité")), "")
        )
        address = " ".join(
            part
            for part in (
                get("Numéro Voie (coord. structure)"),
                get("Indice répétition voie (coord. structure)"),
                get("Libellé type de voie (coord. structure)"),
                get("Libellé Voie (coord. structure)"),
            )
            if part
        )
        complement = ", ".join(
            part
            for part in (
                get("Complément destinataire (coord. structure)"),
                get("Complément point géographique (coord. structure)"),
                get("Mention distribution (coord. structure)"),
            )
            if part
        )
        commune = get("Libellé commune (coord. structure)") or get(
            "Bureau cedex (coord. structure)"
        )
        place_name = get("Enseigne commerciale site") or get("Raison sociale site")
        # Without the structure's identifier a place is known by its postal code
        # and name, so that a corrected street updates it instead of adding one.
        place_key = (
            get("Identifiant technique de la structure")
            or hashlib.sha256(fold(f"{postal_code}|{place_name}").encode()).hexdigest()[
                :32
            ]
        )
        yield ParsedLine(
            number=number,
            rpps=rpps,
            first_name=first_name[:120],
            last_name=last_name[:120],
            civility=civility,
            gender=GENDERS.get(civility_code, Practitioner.Gender.UNSPECIFIED),
            profession=profession,
            specialty=specialty,
            place_key=place_key[:64],
            place_name=place_name[:160],
            address=address[:250],
            address_complement=complement[:250],
            postal_code=postal_code,
            commune=commune[:120],
            phone=get("Téléphone (coord. structure)")[:32],
        )


_IDENTITY_FIELDS = ["first_name", "last_name", "civility", "profession"]
_PLACE_FIELDS = ["name", "address", "address_complement", "postal_code", "commune"]


@transaction.atomic
def _write_batch(
    batch: list[ParsedLine],
    *,
    report: RppsImportReport,
    specialty_ids: dict[str, int],
    now: datetime,
) -> None:
    from .services import refresh_search_columns

    by_rpps: dict[str, list[ParsedLine]] = defaultdict(list)
    for line in batch:
        by_rpps[line.rpps].append(line)
    existing = {
        practitioner.rpps: practitioner
        for practitioner in Practitioner.objects.filter(rpps__in=by_rpps).only(
            "pk", "rpps", "gender", *_IDENTITY_FIELDS
        )
    }
    created_rpps: set[str] = set()
    changed_rpps: set[str] = set()
    to_create = []
    to_update = []
    for rpps, lines in by_rpps.items():
        first = lines[0]
        practitioner = existing.get(rpps)
        if practitioner is None:
            practitioner = Practitioner(
                rpps=rpps,
                first_name=first.first_name,
                last_name=first.last_name,
                civility=first.civility,
                gender=first.gender,
                profession=first.profession,
                languages=["fr"],
                source=Practitioner.Source.RPPS,
                rpps_refreshed_at=now,
            )
            practitioner.fill_derived_fields()
            to_create.append(practitioner)
            created_rpps.add(rpps)
            continue
        changed = False
        for name in _IDENTITY_FIELDS:
            value = getattr(first, name)
            if value and getattr(practitioner, name) != value:
                setattr(practitioner, name, value)
                changed = True
        if (
            practitioner.gender == Practitioner.Gender.UNSPECIFIED
            and first.gender != Practitioner.Gender.UNSPECIFIED
        ):
            practitioner.gender = first.gender
            changed = True
        if changed:
            practitioner.fill_derived_fields()
            to_update.append(practitioner)
            changed_rpps.add(rpps)
    Practitioner.objects.bulk_create(to_create)
    report.practitioners_created += len(to_create)
    if to_update:
        Practitioner.objects.bulk_update(
            to_update, [*_IDENTITY_FIELDS, "gender", "search_name", "updated_at"]
        )
    for practitioner in to_create:
        existing[practitioner.rpps] = practitioner
    ids = [practitioner.pk for practitioner in existing.values()]
    Practitioner.objects.filter(pk__in=ids).update(rpps_refreshed_at=now)

    # Specialties: add the missing links.
    through = Practitioner.specialties.through
    linked = set(
        through.objects.filter(practitioner_id__in=ids).values_list(
            "practitioner_id", "specialty_id"
        )
    )
    new_links = {}
    for line in batch:
        pair = (existing[line.rpps].pk, specialty_ids[line.specialty])
        if pair not in linked:
            new_links[pair] = line
    through.objects.bulk_create(
        [through(practitioner_id=pk, specialty_id=sid) for pk, sid in new_links],
        ignore_conflicts=True,
    )
    lines_with_new_link = {line.number for line in new_links.values()}

    # Places: keyed on the structure, per practitioner.
    places = {
        (place.practitioner_id, place.source_key): place
        for place in PracticePlace.objects.filter(practitioner_id__in=ids).exclude(
            source_key=""
        )
    }
    located = geocode_many((line.postal_code, line.commune) for line in batch)
    place_changes: set[int] = set()
    new_places: dict[tuple[int, str], PracticePlace] = {}
    changed_places: dict[int, PracticePlace] = {}
    for line in batch:
        owner = existing[line.rpps].pk
        key = (owner, line.place_key)
        values = {
            "name": line.place_name,
            "address": line.address,
            "address_complement": line.address_complement,
            "postal_code": line.postal_code,
            "commune": line.commune,
        }
        place = places.get(key) or new_places.get(key)
        if place is None:
            place = PracticePlace(
                practitioner_id=owner,
                source_key=line.place_key,
                phone=line.phone,
                **values,
            )
            _locate(place, located.get((line.postal_code, line.commune)))
            new_places[key] = place
            place_changes.add(line.number)
            continue
        if place.pk is None:
            continue  # a repeated line of this batch (several specialties)
        moved = place.postal_code != line.postal_code or place.commune != line.commune
        if any(getattr(place, name) != value for name, value in values.items()) or (
            line.phone and place.phone != line.phone
        ):
            for name, value in values.items():
                setattr(place, name, value)
            if line.phone:
                place.phone = line.phone
            if (
                moved
                and place.geocode_precision != PracticePlace.GeocodePrecision.MANUAL
            ):
                _locate(place, located.get((line.postal_code, line.commune)))
            changed_places[place.pk] = place
            place_changes.add(line.number)
    primary_owners = set(
        PracticePlace.objects.filter(
            practitioner_id__in=ids, is_primary=True
        ).values_list("practitioner_id", flat=True)
    )
    for place in new_places.values():
        if place.practitioner_id not in primary_owners:
            place.is_primary = True
            primary_owners.add(place.practitioner_id)
    PracticePlace.objects.bulk_create(new_places.values())
    report.places_created += len(new_places)
    if changed_places:
        PracticePlace.objects.bulk_update(
            changed_places.values(),
            [*_PLACE_FIELDS, "phone", "latitude", "longitude", "geocode_precision"],
        )
    refresh_search_columns(practitioner_ids=ids)

    for line in batch:
        if line.rpps in created_rpps:
            report.created += 1
        elif (
            line.rpps in changed_rpps
            or line.number in lines_with_new_link
            or line.number in place_changes
        ):
            report.updated += 1
        else:
            report.unchanged += 1


def _locate(place: PracticePlace, point) -> None:
    if point is None:
        place.latitude = place.longitude = None
        place.geocode_precision = PracticePlace.GeocodePrecision.NONE
    else:
        place.latitude, place.longitude = point.latitude, point.longitude
        place.geocode_precision = point.precision
