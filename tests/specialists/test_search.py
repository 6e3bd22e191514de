"""Directory search: every filter, accent-blind text, distance and ordering."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from conciergerie.accounts.roles import Role
from specialists.geocoding import GeoPoint
from specialists.models import Practitioner
from specialists.search import Ordering, SearchFilters
from tests.factories import UserFactory
from tests.specialists.factories import PracticePlaceFactory, PractitionerFactory

PARIS_CENTRE = GeoPoint(48.8566, 2.3522)
LYON_CENTRE = GeoPoint(45.7640, 4.8357)


def at(practitioner, latitude, longitude, **kwargs):
    PracticePlaceFactory(
        practitioner=practitioner, latitude=latitude, longitude=longitude, **kwargs
    )
    return practitioner


@pytest.fixture
def directory(db):
    now = timezone.now()
    return {
        "lefevre": at(
            PractitionerFactory(
                verified=True,
                first_name="Élodie",
                last_name="Lefèvre",
                specialties=["cardiology"],
                languages=["fr", "en"],
                gender=Practitioner.Gender.FEMALE,
                sector=Practitioner.Sector.SECTOR_1,
                consultation_fee=Decimal("50.00"),
                teleconsultation=True,
                next_available_at=now + timedelta(days=2),
            ),
            48.8606,
            2.3376,  # Louvre, ~1.1 km from the centre
        ),
        "dupont": at(
            PractitionerFactory(
                verified=True,
                first_name="Marc",
                last_name="Dupont",
                specialties=["cardiology"],
                languages=["fr"],
                gender=Practitioner.Gender.MALE,
                sector=Practitioner.Sector.SECTOR_2,
                consultation_fee=Decimal("90.00"),
                negotiated_rate=Decimal("60.00"),
                wheelchair_accessible=True,
                next_available_at=now + timedelta(days=10),
            ),
            48.8973,
            2.3444,  # Montmartre north, ~4.5 km
        ),
        "girard": at(
            PractitionerFactory(
                verified=True,
                first_name="Inès",
                last_name="Girard",
                specialties=["paediatrics"],
                languages=["fr", "es"],
                gender=Practitioner.Gender.FEMALE,
                sector=Practitioner.Sector.SECTOR_2_OPTAM,
                consultation_fee=Decimal("40.00"),
                next_available_at=None,
            ),
            45.7640,
            4.8357,  # Lyon
        ),
        "unverified": at(
            PractitionerFactory(
                first_name="Nina",
                last_name="Nonverifiee",
                specialties=["cardiology"],
                next_available_at=now + timedelta(days=1),
            ),
            48.857,
            2.352,
        ),
        "expired": at(
            PractitionerFactory(
                first_name="Ugo",
                last_name="Perime",
                specialties=["cardiology"],
                verified_until=timezone.localdate() - timedelta(days=1),
                next_available_at=now + timedelta(days=1),
            ),
            48.857,
            2.352,
        ),
        "unlisted": at(
            PractitionerFactory(
                verified=True,
                is_active=False,
                first_name="Paul",
                last_name="Delisté",
                specialties=["cardiology"],
            ),
            48.857,
            2.352,
        ),
    }


def names(filters: SearchFilters, queryset=None) -> list[str]:
    queryset = queryset if queryset is not None else Practitioner.objects.all()
    return [p.last_name for p in queryset.search(filters)]


def test_only_verified_listed_practitioners_are_found_by_default(directory):
    assert sorted(names(SearchFilters())) == ["Dupont", "Girard", "Lefèvre"]


def test_the_back_office_may_include_unverified_but_never_unlisted(directory):
    found = names(SearchFilters(verified_only=False))

    assert "Nonverifiee" in found
    assert "Perime" in found
    assert "Delisté" not in found


def test_filter_by_specialty(directory):
    assert sorted(names(SearchFilters(specialty="cardiology"))) == ["Dupont", "Lefèvre"]
    assert names(SearchFilters(specialty="paediatrics")) == ["Girard"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lefevre", ["Lefèvre"]),
        ("LEFÈVRE", ["Lefèvre"]),
        ("elodie", ["Lefèvre"]),
        ("cardiologue", ["Lefèvre", "Dupont"]),
        ("cardio", ["Lefèvre", "Dupont"]),
        ("pediatre", ["Girard"]),
        ("Pédiatrie", ["Girard"]),
        ("dupond", ["Dupont"]),
        ("cardiologie dupont", ["Dupont"]),
    ],
)
def test_full_text_is_accent_blind_and_forgives_typos(directory, query, expected):
    assert names(SearchFilters(query=query)) == expected


def test_a_query_matching_nothing_finds_nothing(directory):
    assert names(SearchFilters(query="astrologue")) == []


def test_filter_by_distance_and_sort_nearest_first(directory):
    found = list(
        Practitioner.objects.search(
            SearchFilters(near=PARIS_CENTRE, radius_km=10, ordering=Ordering.DISTANCE)
        )
    )

    assert [p.last_name for p in found] == ["Lefèvre", "Dupont"]
    assert found[0].distance_km == pytest.approx(1.1, abs=0.2)
    assert found[1].distance_km == pytest.approx(4.5, abs=0.3)


def test_a_small_radius_keeps_only_the_closest(directory):
    assert names(SearchFilters(near=PARIS_CENTRE, radius_km=2)) == ["Lefèvre"]
    assert names(SearchFilters(near=LYON_CENTRE, radius_km=5)) == ["Girard"]


def test_the_nearest_place_of_a_practitioner_gives_the_distance(directory):
    at(directory["girard"], 48.8570, 2.3525)  # she also consults in Paris

    found = Practitioner.objects.search(SearchFilters(near=PARIS_CENTRE, radius_km=3))

    girard = next(p for p in found if p.last_name == "Girard")
    assert girard.distance_km < 0.1


def test_filter_by_language(directory):
    assert names(SearchFilters(language="en")) == ["Lefèvre"]
    assert names(SearchFilters(language="es")) == ["Girard"]


def test_filter_by_gender(directory):
    assert names(SearchFilters(gender=Practitioner.Gender.MALE)) == ["Dupont"]


def test_filter_by_sector(directory):
    filters = SearchFilters(
        sectors=(Practitioner.Sector.SECTOR_1, Practitioner.Sector.SECTOR_2_OPTAM)
    )

    assert sorted(names(filters)) == ["Girard", "Lefèvre"]


def test_the_maximum_fee_counts_the_negotiated_rate(directory):
    # Dupont charges 90 € but 60 € to the concierge's patients.
    assert sorted(names(SearchFilters(max_fee=Decimal("60")))) == [
        "Dupont",
        "Girard",
        "Lefèvre",
    ]
    assert sorted(names(SearchFilters(max_fee=Decimal("45")))) == ["Girard"]


def test_filter_by_teleconsultation(directory):
    assert names(SearchFilters(teleconsultation=True)) == ["Lefèvre"]


def test_filter_by_wheelchair_access(directory):
    assert names(SearchFilters(wheelchair_accessible=True)) == ["Dupont"]


def test_filter_by_availability_before_a_date(directory):
    in_a_week = timezone.localdate() + timedelta(days=7)

    assert names(SearchFilters(available_before=in_a_week)) == ["Lefèvre"]


def test_sort_by_earliest_availability_puts_the_unavailable_last(directory):
    found = names(SearchFilters(ordering=Ordering.AVAILABILITY))

    assert found == ["Lefèvre", "Dupont", "Girard"]


def test_sort_by_rating_puts_the_unrated_last(directory):
    Practitioner.objects.filter(pk=directory["dupont"].pk).update(
        rating_average=Decimal("4.80"), rating_count=12
    )
    Practitioner.objects.filter(pk=directory["girard"].pk).update(
        rating_average=Decimal("4.20"), rating_count=3
    )

    assert names(SearchFilters(ordering=Ordering.RATING)) == [
        "Dupont",
        "Girard",
        "Lefèvre",
    ]


def test_filters_combine(directory):
    filters = SearchFilters(
        specialty="cardiology",
        near=PARIS_CENTRE,
        radius_km=10,
        language="en",
        gender=Practitioner.Gender.FEMALE,
        teleconsultation=True,
        max_fee=Decimal("50"),
        query="lefevre",
    )

    assert names(filters) == ["Lefèvre"]


def test_a_page_with_specialties_and_places_is_one_query(
    directory, django_assert_num_queries
):
    for _ in range(5):
        at(PractitionerFactory(verified=True, specialties=["cardiology"]), 48.86, 2.35)

    with django_assert_num_queries(1):
        page = list(
            Practitioner.objects.search(
                SearchFilters(specialty="cardiology", near=PARIS_CENTRE)
            ).with_listing()[:20]
        )
        items = [(p.specialty_items, p.place_items) for p in page]

    assert len(page) == 7
    assert items[0][0][0]["code"] == "cardiology"
    assert items[0][1][0]["postal_code"] == "75002"


def test_patients_and_visitors_see_only_proposable_practitioners(directory):
    patient = UserFactory(role=Role.PATIENT)
    from django.contrib.auth.models import AnonymousUser

    visible = Practitioner.objects.visible_to(patient)

    assert {p.last_name for p in visible} == {"Dupont", "Girard", "Lefèvre"}
    assert visible.count() == Practitioner.objects.visible_to(AnonymousUser()).count()


def test_a_practitioner_sees_their_own_profile_even_unverified(directory):
    user = UserFactory(role=Role.PRACTITIONER)
    own = directory["unverified"]
    own.user = user
    own.save(update_fields=["user"])

    assert own in Practitioner.objects.visible_to(user)


def test_the_back_office_sees_the_whole_directory(directory):
    adviser = UserFactory(role=Role.MEDICAL_ADVISER)

    assert Practitioner.objects.visible_to(adviser).count() == 6
