"""Matching: rank practitioners for one patient's need, and say why.

`score_candidates` is a pure function: facts about candidates in, scores and
explanations out. Each criterion gives a component between 0 and 1; the score is
their weighted mean over the criteria that apply (a patient without a language
preference is not scored on languages), times 100. Weights come from
`settings.SPECIALISTS_MATCH_WEIGHTS`.

`rank_practitioners` turns a `MatchCriteria` into candidates (hard constraints in
SQL: specialty, verification, place or teleconsultation, accessibility), then
scores them. Care requests build a `MatchCriteria` from what the patient said.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import FloatField, OuterRef, Q, QuerySet, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .availability import PARIS
from .geocoding import GeoPoint, distance_expression, geocode
from .models import SPEAKS, PracticePlace, Practitioner
from .search import DEFAULT_RADIUS_KM, end_of_day, specialty_items, within_radius

DEFAULT_WEIGHTS: dict[str, float] = {
    "specialty": 4.0,
    "distance": 3.0,
    "availability": 3.0,
    "rating": 2.0,
    "language": 2.0,
    "gender": 1.0,
    "fees": 2.0,
    "experience": 2.0,
}
#: Ratings are shrunk towards this mean, as if each practitioner had this many
#: average reviews more: one 5/5 review must not outrank fifty 4.8/5.
RATING_PRIOR_MEAN = 3.5
RATING_PRIOR_COUNT = 3
#: Candidates scored per request; SQL orders them by availability beforehand.
CANDIDATE_POOL = 400


class Mode:
    IN_PERSON = "in_person"
    TELECONSULTATION = "teleconsultation"
    EITHER = "either"

    CHOICES = [
        (IN_PERSON, _("In person")),
        (TELECONSULTATION, _("Teleconsultation")),
        (EITHER, _("In person or teleconsultation")),
    ]


class Outcome:
    """How a past consultation with this practitioner went for the patient."""

    GOOD = "good"
    NEUTRAL = "neutral"
    POOR = "poor"

    SCORES = {GOOD: 1.0, NEUTRAL: 0.5, POOR: 0.0}


@dataclass(frozen=True)
class MatchCriteria:
    """The patient's need, as the matching understands it.

    `past_experience` maps practitioner ids the patient saw before to an
    `Outcome`; `exclude` lists practitioners not to propose again.
    """

    specialty: str = ""
    postal_code: str = ""
    commune: str = ""
    location: GeoPoint | None = None
    radius_km: float = DEFAULT_RADIUS_KM
    mode: str = Mode.IN_PERSON
    languages: tuple[str, ...] = ()
    gender: str = ""
    budget: Decimal | None = None
    wheelchair_required: bool = False
    available_before: date | None = None
    past_experience: Mapping[int, str] = field(default_factory=dict)
    exclude: frozenset[int] = frozenset()

    def resolved_location(self) -> GeoPoint | None:
        if self.location is not None:
            return self.location
        if self.postal_code or self.commune:
            return geocode(postal_code=self.postal_code, commune=self.commune)
        return None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy, to keep with a shortlist."""
        location = self.resolved_location()
        return {
            "specialty": self.specialty,
            "postal_code": self.postal_code,
            "commune": self.commune,
            "location": [location.latitude, location.longitude] if location else None,
            "radius_km": self.radius_km,
            "mode": self.mode,
            "languages": list(self.languages),
            "gender": self.gender,
            "budget": str(self.budget) if self.budget is not None else None,
            "wheelchair_required": self.wheelchair_required,
            "available_before": (
                self.available_before.isoformat() if self.available_before else None
            ),
        }


@dataclass(frozen=True)
class Candidate:
    """The facts the score is computed from."""

    practitioner_id: int
    specialties: frozenset[str] = frozenset()
    distance_km: float | None = None
    next_available_at: datetime | None = None
    rating_average: Decimal | None = None
    rating_count: int = 0
    languages: tuple[str, ...] = ()
    gender: str = ""
    sector: str = ""
    fee: Decimal | None = None
    teleconsultation: bool = False


@dataclass
class MatchResult:
    practitioner_id: int
    score: float
    components: dict[str, float]
    reasons: list[str]
    candidate: Candidate
    practitioner: Practitioner | None = None

    @property
    def explanation(self) -> str:
        return ", ".join(self.reasons)


def match_weights() -> dict[str, float]:
    configured = getattr(settings, "SPECIALISTS_MATCH_WEIGHTS", None) or {}
    return {**DEFAULT_WEIGHTS, **configured}


# --- The pure part ------------------------------------------------------------------


def score_candidates(
    criteria: MatchCriteria,
    candidates: Iterable[Candidate],
    *,
    now: datetime,
    weights: Mapping[str, float] | None = None,
) -> list[MatchResult]:
    """Score and order candidates, best first; ties go to the nearest, then soonest."""
    weights = dict(weights) if weights is not None else match_weights()
    results = []
    for candidate in candidates:
        components = _components(criteria, candidate, now)
        total_weight = sum(weights.get(name, 0.0) for name in components)
        score = (
            100.0
            * sum(weights.get(name, 0.0) * value for name, value in components.items())
            / total_weight
            if total_weight
            else 0.0
        )
        results.append(
            MatchResult(
                practitioner_id=candidate.practitioner_id,
                score=round(score, 2),
                components=components,
                reasons=explain(criteria, candidate, now=now),
                candidate=candidate,
            )
        )
    far = float("inf")
    results.sort(
        key=lambda result: (
            -result.score,
            result.candidate.distance_km
            if result.candidate.distance_km is not None
            else far,
            result.candidate.next_available_at or datetime.max.replace(tzinfo=PARIS),
            result.practitioner_id,
        )
    )
    return results


def _components(
    criteria: MatchCriteria, candidate: Candidate, now: datetime
) -> dict[str, float]:
    components: dict[str, float] = {}
    if criteria.specialty:
        components["specialty"] = (
            1.0 if criteria.specialty in candidate.specialties else 0.0
        )
    distance = _distance_component(criteria, candidate)
    if distance is not None:
        components["distance"] = distance
    components["availability"] = availability_component(
        candidate.next_available_at, now
    )
    components["rating"] = rating_component(
        candidate.rating_average, candidate.rating_count
    )
    if criteria.languages:
        components["language"] = (
            1.0 if set(criteria.languages) & set(candidate.languages) else 0.0
        )
    if criteria.gender:
        components["gender"] = 1.0 if candidate.gender == criteria.gender else 0.0
    if criteria.budget is not None:
        components["fees"] = fee_component(candidate.fee, criteria.budget)
    outcome = criteria.past_experience.get(candidate.practitioner_id)
    if outcome in Outcome.SCORES:
        components["experience"] = Outcome.SCORES[outcome]
    return components


def _distance_component(criteria: MatchCriteria, candidate: Candidate) -> float | None:
    if criteria.mode == Mode.TELECONSULTATION:
        return None
    if candidate.distance_km is not None:
        radius = max(criteria.radius_km, 1.0)
        return max(0.0, 1.0 - candidate.distance_km / radius)
    if criteria.mode == Mode.EITHER and candidate.teleconsultation:
        return 0.5  # reachable remotely, but the patient would rather come in
    if criteria.location is None and not (criteria.postal_code or criteria.commune):
        return None
    return 0.0


def availability_component(next_available_at: datetime | None, now: datetime) -> float:
    """1 when free now, one half in a week, one quarter in three weeks, 0 if never."""
    if next_available_at is None:
        return 0.0
    days = max(0.0, (next_available_at - now).total_seconds() / 86400)
    return 1.0 / (1.0 + days / 7.0)


def rating_component(average: Decimal | None, count: int) -> float:
    total = RATING_PRIOR_MEAN * RATING_PRIOR_COUNT + float(average or 0) * count
    shrunk = total / (RATING_PRIOR_COUNT + count)
    return (shrunk - 1.0) / 4.0


def fee_component(fee: Decimal | None, budget: Decimal) -> float:
    if fee is None:
        return 0.5
    if fee <= budget:
        return 1.0
    if budget <= 0:
        return 0.0
    return max(0.0, 1.0 - float((fee - budget) / budget))


# --- Explanations -------------------------------------------------------------------


def explain(
    criteria: MatchCriteria, candidate: Candidate, *, now: datetime
) -> list[str]:
    """Short reasons, in the active language: "12 km", "available Tuesday"…"""
    reasons: list[str] = []
    if criteria.mode == Mode.TELECONSULTATION or (
        candidate.distance_km is None and candidate.teleconsultation
    ):
        reasons.append(gettext("teleconsultation"))
    elif candidate.distance_km is not None:
        reasons.append(distance_label(candidate.distance_km))
    reasons.append(availability_label(candidate.next_available_at, now=now))
    reasons.extend(
        str(SPEAKS[code])
        for code in criteria.languages
        if code != "fr" and code in candidate.languages and code in SPEAKS
    )
    if criteria.gender and candidate.gender == criteria.gender:
        reasons.append(
            gettext("a woman, as asked")
            if candidate.gender == Practitioner.Gender.FEMALE
            else gettext("a man, as asked")
        )
    sector = sector_label(candidate.sector)
    if sector:
        reasons.append(sector)
    if candidate.rating_count and candidate.rating_average is not None:
        reasons.append(
            gettext("rated %(rating)s/5")
            % {"rating": formats.number_format(candidate.rating_average, 1)}
        )
    if criteria.budget is not None and candidate.fee is not None:
        amount = formats.number_format(
            candidate.fee, 0 if candidate.fee % 1 == 0 else 2
        )
        if candidate.fee <= criteria.budget:
            reasons.append(gettext("€%(fee)s, within budget") % {"fee": amount})
        else:
            over = candidate.fee - criteria.budget
            reasons.append(
                gettext("€%(fee)s, €%(over)s over budget")
                % {
                    "fee": amount,
                    "over": formats.number_format(over, 0 if over % 1 == 0 else 2),
                }
            )
    outcome = criteria.past_experience.get(candidate.practitioner_id)
    if outcome == Outcome.GOOD:
        reasons.append(gettext("already seen, good experience"))
    elif outcome == Outcome.POOR:
        reasons.append(gettext("already seen, poor experience"))
    elif outcome == Outcome.NEUTRAL:
        reasons.append(gettext("already seen"))
    return reasons


def distance_label(distance_km: float) -> str:
    if distance_km < 10:
        value = formats.number_format(round(distance_km, 1), 1)
    else:
        value = formats.number_format(round(distance_km), 0)
    return gettext("%(distance)s km") % {"distance": value}


def availability_label(moment: datetime | None, *, now: datetime) -> str:
    if moment is None:
        return gettext("no free slot soon")
    day = moment.astimezone(PARIS).date()
    today = now.astimezone(PARIS).date()
    delta = (day - today).days
    if delta <= 0:
        return gettext("available today")
    if delta == 1:
        return gettext("available tomorrow")
    if delta < 7:
        return gettext("available %(weekday)s") % {
            "weekday": formats.date_format(day, "l").lower()
        }
    return gettext("available on %(date)s") % {"date": formats.date_format(day, "j F")}


def sector_label(sector: str) -> str:
    labels = {
        Practitioner.Sector.SECTOR_1: gettext("sector 1"),
        Practitioner.Sector.SECTOR_2_OPTAM: gettext("sector 2 OPTAM"),
        Practitioner.Sector.SECTOR_2: gettext("sector 2"),
        Practitioner.Sector.NOT_CONTRACTED: gettext("not contracted"),
    }
    return labels.get(sector, "")


# --- From the database --------------------------------------------------------------


def candidates_queryset(
    criteria: MatchCriteria, location: GeoPoint | None
) -> QuerySet[Practitioner]:
    """Practitioners who may be proposed for this need (the hard constraints)."""
    queryset = Practitioner.objects.proposable()
    if criteria.specialty:
        queryset = queryset.filter(specialties__code=criteria.specialty)
    if criteria.wheelchair_required and criteria.mode != Mode.TELECONSULTATION:
        queryset = queryset.filter(wheelchair_accessible=True)
    if criteria.available_before is not None:
        queryset = queryset.filter(
            next_available_at__lt=end_of_day(criteria.available_before)
        )
    if criteria.exclude:
        queryset = queryset.exclude(pk__in=criteria.exclude)
    if criteria.mode == Mode.TELECONSULTATION:
        queryset = queryset.filter(teleconsultation=True)
        if location is not None:
            queryset = within_radius(queryset, location, 10_000)
    elif location is not None:
        nearby = within_radius(
            Practitioner.objects.all(), location, criteria.radius_km
        ).values("pk")
        if criteria.mode == Mode.EITHER:
            queryset = queryset.filter(Q(pk__in=nearby) | Q(teleconsultation=True))
            queryset = _with_distance(queryset, location)
        else:
            queryset = within_radius(queryset, location, criteria.radius_km)
    return queryset


def _with_distance(queryset: QuerySet, location: GeoPoint) -> QuerySet:
    return queryset.annotate(
        distance_km=Subquery(
            PracticePlace.objects.filter(
                practitioner=OuterRef("pk"),
                is_active=True,
                latitude__isnull=False,
            )
            .annotate(distance=distance_expression(location))
            .order_by("distance")
            .values("distance")[:1],
            output_field=FloatField(),
        )
    )


def to_candidate(practitioner: Practitioner) -> Candidate:
    return Candidate(
        practitioner_id=practitioner.pk,
        specialties=frozenset(item.code for item in specialty_items(practitioner)),
        distance_km=getattr(practitioner, "distance_km", None),
        next_available_at=practitioner.next_available_at,
        rating_average=practitioner.rating_average,
        rating_count=practitioner.rating_count,
        languages=tuple(practitioner.languages or ()),
        gender=practitioner.gender,
        sector=practitioner.sector,
        fee=practitioner.effective_fee,
        teleconsultation=practitioner.teleconsultation,
    )


def rank_practitioners(
    criteria: MatchCriteria,
    *,
    limit: int = 10,
    now: datetime | None = None,
    weights: Mapping[str, float] | None = None,
) -> list[MatchResult]:
    """The best practitioners for this need, each with its explanation.

    Two queries: the location (postal-code base) and the candidates with their
    specialties and places.
    """
    now = now or timezone.now()
    location = criteria.resolved_location()
    if location is not None and criteria.location is None:
        criteria = _with_location(criteria, location)
    practitioners = list(
        candidates_queryset(criteria, location)
        .with_listing()
        .order_by("next_available_at", "pk")[:CANDIDATE_POOL]
    )
    by_id = {practitioner.pk: practitioner for practitioner in practitioners}
    results = score_candidates(
        criteria, (to_candidate(p) for p in practitioners), now=now, weights=weights
    )[:limit]
    for result in results:
        result.practitioner = by_id[result.practitioner_id]
    return results


def _with_location(criteria: MatchCriteria, location: GeoPoint) -> MatchCriteria:
    return replace(criteria, location=location)


def explain_components(result: MatchResult) -> Sequence[tuple[str, float]]:
    """(criterion, component) pairs, for the back-office's detailed view."""
    return sorted(result.components.items())
