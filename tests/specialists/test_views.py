"""The portal's directory pages: search, profile with free slots, photos."""

from datetime import datetime, time, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conciergerie.accounts.roles import Role
from specialists.availability import PARIS
from tests.factories import UserFactory
from tests.specialists.factories import (
    OpeningHoursFactory,
    PractitionerFactory,
    ReviewFactory,
    cardiologist,
)


def test_the_search_page_lists_verified_practitioners_in_french(client, db):
    cardiologist(last_name="Lefèvre")
    PractitionerFactory(last_name="Pasverifie")

    response = client.get("/specialists/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Trouver un praticien" in html
    assert "Lefèvre" in html
    assert "Pasverifie" not in html


def test_filters_narrow_the_results(client, db):
    cardiologist(last_name="Lefèvre", languages=["fr", "en"])
    cardiologist(last_name="Bernardin")

    response = client.get(
        "/specialists/", {"specialty": "cardiology", "place": "75002", "language": "en"}
    )

    html = response.content.decode()
    assert "Lefèvre" in html
    assert "Bernardin" not in html


def test_an_unknown_place_is_explained_next_to_the_field(client, db):
    response = client.get("/specialists/", {"place": "Atlantide"})

    assert response.status_code == 200
    assert response.context["form"].errors["place"]
    assert response.context["form"].has_error("place", code="unknown_place")


def test_the_search_page_costs_few_queries_whatever_the_results(
    client, db, django_assert_max_num_queries
):
    for _ in range(25):
        cardiologist()

    # The specialty's lookup and the list of choices, the place, the page.
    with django_assert_max_num_queries(4):
        response = client.get(
            "/specialists/", {"specialty": "cardiology", "place": "75002"}
        )

    assert len(response.context["results"]) == 20
    assert response.context["has_next"]


def test_results_are_paginated(client, db):
    for index in range(25):
        cardiologist(next_available_at=timezone.now() + timedelta(hours=index + 1))

    second = client.get("/specialists/", {"page": 2})

    assert len(second.context["results"]) == 5
    assert not second.context["has_next"]


def test_the_profile_shows_free_slots_of_the_week(client, db):
    practitioner = cardiologist(bio="Échographie cardiaque.")
    tomorrow = timezone.localdate() + timedelta(days=1)
    OpeningHoursFactory(
        practitioner=practitioner,
        place=practitioner.places.get(),
        weekday=tomorrow.weekday(),
        starts_at=time(9),
        ends_at=time(10),
    )
    ReviewFactory(practitioner=practitioner, comment="Pas encore publié")

    response = client.get(practitioner.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert "Échographie cardiaque." in html
    assert [day for day, _slots in response.context["days"]] == [tomorrow]
    nine = datetime.combine(tomorrow, time(9), tzinfo=PARIS).isoformat()
    assert f'<time datetime="{nine}">09:00</time>' in html
    assert ">09:30</time>" in html
    assert "Pas encore publié" not in html


def test_slots_link_to_booking_once_the_appointments_app_names_its_page(
    client, db, settings
):
    settings.SPECIALISTS_SLOT_BOOKING_URL = "specialists:detail"
    practitioner = cardiologist()
    tomorrow = timezone.localdate() + timedelta(days=1)
    OpeningHoursFactory(
        practitioner=practitioner,
        place=practitioner.places.get(),
        weekday=tomorrow.weekday(),
        starts_at=time(9),
        ends_at=time(9, 30),
    )

    response = client.get(practitioner.get_absolute_url())

    [(_day, [item])] = response.context["days"]
    assert item["booking_url"].startswith(
        practitioner.get_absolute_url() + "?starts_at="
    )


def test_a_week_in_the_past_is_not_shown(client, db):
    practitioner = cardiologist()

    response = client.get(practitioner.get_absolute_url(), {"start": "2020-01-01"})

    assert response.context["start_day"] == timezone.localdate()
    assert response.context["previous_start"] is None


def test_an_unverified_profile_is_hidden_from_patients(client, db):
    hidden = PractitionerFactory()
    client.force_login(UserFactory(role=Role.PATIENT))

    assert client.get(hidden.get_absolute_url()).status_code == 404


def test_a_practitioner_previews_their_own_unverified_profile(client, db):
    user = UserFactory(role=Role.PRACTITIONER)
    own = PractitionerFactory(user=user)
    client.force_login(user)

    response = client.get(own.get_absolute_url())

    assert response.status_code == 200
    assert "en attente de vérification" in response.content.decode()


def test_photos_are_served_by_the_directory_only_for_visible_practitioners(
    client, db, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    gif = (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01"
        b"\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )
    shown = cardiologist(photo=SimpleUploadedFile("a.gif", gif, "image/gif"))
    hidden = PractitionerFactory(photo=SimpleUploadedFile("b.gif", gif, "image/gif"))
    without = cardiologist()

    response = client.get(f"/specialists/{shown.public_id}/photo/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == gif
    assert client.get(f"/specialists/{hidden.public_id}/photo/").status_code == 404
    assert client.get(f"/specialists/{without.public_id}/photo/").status_code == 404


@pytest.mark.parametrize("path", ["/specialists/", "/specialists/?place=75002&page=x"])
def test_the_pages_carry_no_inline_script_or_style(client, db, path):
    cardiologist()

    html = client.get(path).content.decode()

    assert "<script>" not in html
    assert "style=" not in html
