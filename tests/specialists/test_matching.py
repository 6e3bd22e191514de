"""Matching: a hand-built case whose order is known, and its explanations."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from specialists.availability import PARIS
from specialists.geocoding import GeoPoint
from specialists.matching import (
    DEFAULT_WEIGHTS,
    Candidate,
    MatchCriteria,
    Mode,
    Outcome,
    availability_component,
    rank_practitioners,
    rating_component,
    score_candidates,
)
from specialists.models import Practitioner
from tests.specialists.factories import PracticePlaceFactory, PractitionerFactory

NOW = datetime(2026, 2, 2, 10, 0, tzinfo=PARIS)  # a Monday morning
PARIS_CENTRE = GeoPoint(48.8566, 2.3522)

CRITERIA = MatchCriteria(
    specialty="cardiology",
    location=PARIS_CENTRE,
    radius_km=20,
    languages=("en",),
    budget=Decimal("60"),
    past_experience={3: Outcome.POOR},
)
NEAR_AND_SOON = Candidate(
    practitioner_id=1,
    specialties=frozenset({"cardiology"}),
    distance_km=2.0,
    next_available_at=NOW + timedelta(days=1),
    rating_average=Decimal("4.7"),
    rating_count=20,
    languages=("fr", "en"),
    sector=Practitioner.Sector.SECTOR_1,
    fee=Decimal("50"),
)
FAR_LATE_EXPENSIVE = Candidate(
    practitioner_id=2,
    specialties=frozenset({"cardiology"}),
    distance_km=15.0,
    next_available_at=NOW + timedelta(days=21),
    rating_average=Decimal("4.9"),
    rating_count=30,
    languages=("fr", "en"),
    sector=Practitioner.Sector.SECTOR_2,
    fee=Decimal("90"),
)
SEEN_AND_DISLIKED = Candidate(
    practitioner_id=3,
    specialties=frozenset({"cardiology"}),
    distance_km=1.0,
    next_available_at=NOW + timedelta(hours=3),
    rating_average=Decimal("4.5"),
    rating_count=10,
    languages=("fr",),
    sector=Practitioner.Sector.SECTOR_1,
    fee=Decimal("30"),
)
WRONG_SPECIALTY = Candidate(
    practitioner_id=4,
    specialties=frozenset({"general-practice"}),
    distance_km=1.0,
    next_available_at=NOW + timedelta(hours=3),
    rating_average=Decimal("5.0"),
    rating_count=40,
    languages=("fr", "en"),
    sector=Practitioner.Sector.SECTOR_1,
    fee=Decimal("30"),
)
CANDIDATES = [FAR_LATE_EXPENSIVE, WRONG_SPECIALTY, SEEN_AND_DISLIKED, NEAR_AND_SOON]


def test_the_hand_built_case_ranks_in_the_known_order():
    results = score_candidates(CRITERIA, CANDIDATES, now=NOW, weights=DEFAULT_WEIGHTS)

    # Worked by hand with the default weights (specialty 4, distance 3,
    # availability 3, rating 2, language 2, fees 2, experience 2):
    #   1: 4 + 3*.90 + 3*.875 + 2*.886 + 2 + 2 = 15.097 / 16 -> 94.35
    #   3: 4 + 3*.95 + 3*.982 + 2*.817 + 0 + 2 + 0 = 13.43 / 18 -> 74.6
    #   4: 0 + 3*.95 + 3*.982 + 2*.974 + 2 + 2 = 11.74 / 16 -> 73.4
    #   2: 4 + 3*.25 + 3*.25 + 2*.943 + 2 + 2*.5 = 10.39 / 16 -> 64.9
    assert [result.practitioner_id for result in results] == [1, 3, 4, 2]
    assert [round(result.score, 1) for result in results] == [94.3, 74.6, 73.4, 64.9]


def test_each_component_is_reported_and_only_when_it_applies():
    results = score_candidates(CRITERIA, CANDIDATES, now=NOW, weights=DEFAULT_WEIGHTS)
    by_id = {result.practitioner_id: result for result in results}

    assert by_id[1].components["distance"] == pytest.approx(0.9)
    assert "experience" not in by_id[1].components
    assert by_id[3].components["experience"] == 0.0
    assert by_id[3].components["language"] == 0.0
    assert by_id[4].components["specialty"] == 0.0
    assert by_id[2].components["fees"] == pytest.approx(0.5)
    assert "gender" not in by_id[1].components


def test_weights_from_settings_change_the_order(settings):
    settings.SPECIALISTS_MATCH_WEIGHTS = {"availability": 0.0, "distance": 0.0}
    criteria = MatchCriteria(specialty="cardiology", location=PARIS_CENTRE)

    results = score_candidates(criteria, [NEAR_AND_SOON, FAR_LATE_EXPENSIVE], now=NOW)

    # Only specialty and rating count now: the better-rated one wins.
    assert [result.practitioner_id for result in results] == [2, 1]


def test_a_good_past_experience_lifts_a_practitioner():
    twin = Candidate(**{**NEAR_AND_SOON.__dict__, "practitioner_id": 9})
    criteria = MatchCriteria(
        specialty="cardiology", location=PARIS_CENTRE, past_experience={9: Outcome.GOOD}
    )

    results = score_candidates(criteria, [NEAR_AND_SOON, twin], now=NOW)

    assert [result.practitioner_id for result in results] == [9, 1]


def test_a_gender_preference_lifts_the_matching_practitioners():
    woman = Candidate(
        **{**NEAR_AND_SOON.__dict__, "practitioner_id": 7, "gender": "female"}
    )
    man = Candidate(
        **{**NEAR_AND_SOON.__dict__, "practitioner_id": 8, "gender": "male"}
    )
    criteria = MatchCriteria(specialty="cardiology", gender="female")

    results = score_candidates(criteria, [man, woman], now=NOW)

    assert [result.practitioner_id for result in results] == [7, 8]


def test_equal_scores_go_to_the_nearest():
    far = Candidate(practitioner_id=5, distance_km=None)
    near = Candidate(practitioner_id=6, distance_km=None)

    results = score_candidates(MatchCriteria(), [near, far], now=NOW)

    assert [result.practitioner_id for result in results] == [5, 6]  # then by id


def test_availability_and_rating_components_have_the_documented_shape():
    assert availability_component(NOW, NOW) == 1.0
    assert availability_component(NOW + timedelta(days=7), NOW) == pytest.approx(0.5)
    assert availability_component(None, NOW) == 0.0
    assert rating_component(None, 0) == pytest.approx((3.5 - 1) / 4)
    # One 5/5 review does not outrank fifty 4.8/5.
    assert rating_component(Decimal("5"), 1) < rating_component(Decimal("4.8"), 50)


def test_the_explanation_reads_like_the_concierge_would_say_it():
    candidate = Candidate(
        practitioner_id=1,
        specialties=frozenset({"cardiology"}),
        distance_km=12.3,
        next_available_at=datetime(2026, 2, 3, 9, 0, tzinfo=PARIS),  # Tuesday
        rating_average=Decimal("4.70"),
        rating_count=23,
        languages=("fr", "en"),
        sector=Practitioner.Sector.SECTOR_1,
    )
    criteria = MatchCriteria(specialty="cardiology", languages=("en",))
    sunday = datetime(2026, 2, 1, 12, 0, tzinfo=PARIS)

    with translation.override("fr"):
        french = score_candidates(criteria, [candidate], now=sunday)[0].explanation
    with translation.override("en"):
        english = score_candidates(criteria, [candidate], now=sunday)[0].explanation

    assert french == "12 km, disponible mardi, parle anglais, secteur 1, noté 4,7/5"
    assert english == "12 km, available tuesday, speaks English, sector 1, rated 4.7/5"


def test_the_explanation_mentions_budget_experience_and_teleconsultation():
    criteria = MatchCriteria(
        mode=Mode.TELECONSULTATION,
        budget=Decimal("60"),
        past_experience={2: Outcome.GOOD},
    )

    with translation.override("fr"):
        reasons = score_candidates(criteria, [FAR_LATE_EXPENSIVE], now=NOW)[0].reasons

    assert reasons[0] == "téléconsultation"
    assert reasons[1] == "disponible le 23 février"
    assert "secteur 2" in reasons
    assert "90 €, 30 € au-dessus du budget" in reasons
    assert reasons[-1] == "déjà consulté(e), bonne expérience"


# --- From the database ---------------------------------------------------------------


def located(latitude, longitude, **kwargs):
    practitioner = PractitionerFactory(**kwargs)
    PracticePlaceFactory(
        practitioner=practitioner, latitude=latitude, longitude=longitude
    )
    return practitioner


@pytest.fixture
def network(db):
    now = timezone.now()
    return {
        "near": located(
            48.86,
            2.35,
            verified=True,
            specialties=["cardiology"],
            next_available_at=now + timedelta(days=1),
        ),
        "far_remote": located(
            45.76,
            4.83,
            verified=True,
            specialties=["cardiology"],
            teleconsultation=True,
            next_available_at=now + timedelta(days=1),
        ),
        "unverified": located(
            48.86, 2.35, specialties=["cardiology"], next_available_at=now
        ),
        "dermatologist": located(
            48.86, 2.35, verified=True, specialties=["dermatology"]
        ),
        "accessible": located(
            48.87,
            2.36,
            verified=True,
            specialties=["cardiology"],
            wheelchair_accessible=True,
            next_available_at=now + timedelta(days=5),
        ),
    }


def ids(results):
    return [result.practitioner.pk for result in results]


def test_ranking_keeps_only_verified_practitioners_of_the_specialty_nearby(network):
    results = rank_practitioners(
        MatchCriteria(specialty="cardiology", location=PARIS_CENTRE, radius_km=10)
    )

    assert ids(results) == [network["near"].pk, network["accessible"].pk]
    assert results[0].explanation


def test_either_mode_adds_remote_practitioners_from_elsewhere(network):
    results = rank_practitioners(
        MatchCriteria(
            specialty="cardiology",
            location=PARIS_CENTRE,
            radius_km=10,
            mode=Mode.EITHER,
        )
    )

    assert set(ids(results)) == {
        network["near"].pk,
        network["accessible"].pk,
        network["far_remote"].pk,
    }


def test_teleconsultation_mode_ignores_distance(network):
    results = rank_practitioners(
        MatchCriteria(specialty="cardiology", mode=Mode.TELECONSULTATION)
    )

    assert ids(results) == [network["far_remote"].pk]


def test_wheelchair_access_is_a_hard_constraint(network):
    results = rank_practitioners(
        MatchCriteria(
            specialty="cardiology", location=PARIS_CENTRE, wheelchair_required=True
        )
    )

    assert ids(results) == [network["accessible"].pk]


def test_excluded_practitioners_are_not_proposed_again(network):
    results = rank_practitioners(
        MatchCriteria(
            specialty="cardiology",
            location=PARIS_CENTRE,
            exclude=frozenset({network["near"].pk}),
        )
    )

    assert ids(results) == [network["accessible"].pk]


def test_a_postal_code_is_geocoded_for_the_ranking(network):
    results = rank_practitioners(
        MatchCriteria(specialty="cardiology", postal_code="75004", radius_km=10)
    )

    assert network["near"].pk in ids(results)
    assert results[0].candidate.distance_km is not None


def test_ranking_costs_two_queries(network, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        results = rank_practitioners(
            MatchCriteria(specialty="cardiology", postal_code="75004", radius_km=10)
        )
        [result.explanation for result in results]
