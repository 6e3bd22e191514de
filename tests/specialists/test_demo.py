"""Demo data: enough practitioners everywhere, created once."""

import io

from specialists import demo
from specialists.models import OpeningHours, Practitioner, Specialty
from specialists.search import SearchFilters


def test_the_demo_directory_covers_every_specialty_and_twenty_cities(db):
    out = io.StringIO()

    demo.seed(stdout=out)

    practitioners = Practitioner.objects.filter(source=Practitioner.Source.DEMO)
    assert practitioners.count() >= 300
    assert not Specialty.objects.exclude(
        pk__in=practitioners.values("specialties")
    ).exists()
    communes = set(practitioners.values_list("places__commune", flat=True).distinct())
    assert len(communes) >= 20
    assert OpeningHours.objects.filter(practitioner__in=practitioners).count() > 900
    # Most are verified, available and searchable.
    found = Practitioner.objects.search(SearchFilters(query="cardiologue"))
    assert found.exists()
    assert (
        practitioners.proposable().filter(next_available_at__isnull=False).count() > 250
    )


def test_seeding_twice_adds_nothing_and_draws_the_same_people(db):
    demo.seed(stdout=io.StringIO(), count=30)
    first = list(Practitioner.objects.order_by("rpps").values_list("rpps", "last_name"))

    demo.seed(stdout=io.StringIO(), count=30)
    Practitioner.objects.filter(rpps=first[3][0]).delete()
    demo.seed(stdout=io.StringIO(), count=30)

    again = list(Practitioner.objects.order_by("rpps").values_list("rpps", "last_name"))
    assert again == first
