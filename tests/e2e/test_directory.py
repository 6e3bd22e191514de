"""A patient finds a verified cardiologist near them and sees free slots."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from specialists.models import Specialty
from specialists.services import refresh_availability, refresh_search_columns
from tests.specialists.factories import (
    OpeningHoursFactory,
    PracticePlaceFactory,
    PractitionerFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_filter_open_a_profile_and_see_free_slots(page):
    # Transactional tests start from an emptied database: the catalogue row the
    # migration loaded may be gone.
    cardiology, _created = Specialty.objects.get_or_create(
        code="cardiology",
        defaults={
            "name": "Cardiologie",
            "name_en": "Cardiology",
            "keywords": "cardiologue",
        },
    )
    practitioner = PractitionerFactory(
        verified=True, first_name="Élodie", last_name="Lefèvre", languages=["fr", "en"]
    )
    practitioner.specialties.add(cardiology)
    refresh_search_columns(practitioner_ids=[practitioner.pk])
    place = PracticePlaceFactory(practitioner=practitioner, postal_code="75002")
    tomorrow = timezone.localdate() + timedelta(days=1)
    OpeningHoursFactory(
        practitioner=practitioner,
        place=place,
        weekday=tomorrow.weekday(),
        starts_at=time(9),
        ends_at=time(10),
    )
    refresh_availability(practitioner_ids=[practitioner.pk])
    PractitionerFactory(last_name="Pasverifie")

    page.goto("/specialists/")
    page.get_by_role("heading", name="Trouver un praticien").wait_for()
    page.get_by_label("Spécialité", exact=True).select_option("cardiology")
    page.get_by_label("Près de (code postal ou ville)").fill("75002")
    page.get_by_text("Plus de filtres").click()
    page.get_by_label("Parle", exact=True).select_option("en")
    page.get_by_role("button", name="Rechercher").click()

    result = page.get_by_role("link", name="Dr Élodie Lefèvre")
    result.wait_for()
    assert page.get_by_text("Pasverifie").count() == 0
    assert page.get_by_text("Prochaine disponibilité").count() == 1

    result.click()
    page.get_by_role("heading", name="Dr Élodie Lefèvre").wait_for()
    page.get_by_role("heading", name="Créneaux libres").wait_for()
    assert page.locator("time", has_text="09:00").count() == 1
    assert page.locator("time", has_text="09:30").count() == 1


def test_an_unknown_place_is_announced_next_to_the_field(page):
    page.goto("/specialists/?place=Atlantide")

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "introuvable" in alert.inner_text()
