"""The back-office: directory management, verification, moderation, match page."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conciergerie.accounts.roles import Role
from specialists.models import (
    PracticePlace,
    Practitioner,
    Review,
    Shortlist,
    Specialty,
    VerificationRecord,
)
from tests.factories import UserFactory
from tests.specialists.factories import (
    PracticePlaceFactory,
    PractitionerFactory,
    ReviewFactory,
    valid_rpps,
)

INLINES = [
    "places",
    "opening_hours",
    "consultation_types",
    "availability_exceptions",
    "verifications",
]


@pytest.fixture
def adviser_client(staff_client, db):
    return staff_client(UserFactory(role=Role.MEDICAL_ADVISER))


def empty_inlines(**counts) -> dict:
    data = {}
    for prefix in INLINES:
        data[f"{prefix}-TOTAL_FORMS"] = str(counts.get(prefix, 0))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
    return data


def practitioner_form(**values) -> dict:
    data = {
        "civility": "dr",
        "first_name": "Élodie",
        "last_name": "Lefèvre",
        "gender": "female",
        "profession": "physician",
        "rpps": valid_rpps(42),
        "specialties": [],
        "languages": ["fr", "en"],
        "bio": "",
        "sector": "1",
        "consultation_fee": "50",
        "buffer_minutes": "0",
        "minimum_notice_minutes": "120",
        "booking_horizon_days": "60",
        "is_active": "on",
        **empty_inlines(),
    }
    data.update(values)
    return data


def test_the_directory_lists_practitioners_with_their_verification(adviser_client):
    PractitionerFactory(verified=True, last_name="Lefèvre", specialties=["cardiology"])
    PractitionerFactory(last_name="Martin")

    response = adviser_client.get("/admin/specialists/practitioner/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Lefèvre" in html
    assert "Non vérifié" in html


def test_the_verification_filter_finds_expired_and_due_soon(adviser_client):
    PractitionerFactory(
        last_name="Expire", verified_until=timezone.localdate() - timedelta(days=1)
    )
    PractitionerFactory(
        last_name="Bientot", verified_until=timezone.localdate() + timedelta(days=10)
    )
    PractitionerFactory(verified=True, last_name="Tranquille")

    expired = adviser_client.get(
        "/admin/specialists/practitioner/?verification=expired"
    )
    soon = adviser_client.get("/admin/specialists/practitioner/?verification=due_soon")

    assert [p.last_name for p in expired.context["cl"].result_list] == ["Expire"]
    assert [p.last_name for p in soon.context["cl"].result_list] == ["Bientot"]


def test_the_admin_search_forgives_accents_and_typos(adviser_client):
    PractitionerFactory(last_name="Lefèvre")
    PractitionerFactory(last_name="Martin")

    response = adviser_client.get("/admin/specialists/practitioner/?q=lefevr")

    assert [p.last_name for p in response.context["cl"].result_list] == ["Lefèvre"]


def test_creating_a_practitioner_with_a_wrong_rpps_key_warns_but_saves(adviser_client):
    good = valid_rpps(42)
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)

    response = adviser_client.post(
        "/admin/specialists/practitioner/add/",
        practitioner_form(rpps=wrong[:5] + " " + wrong[5:]),
        follow=True,
    )

    practitioner = Practitioner.objects.get()
    assert practitioner.rpps == wrong
    assert practitioner.rpps_key_valid is False
    assert any(
        "clé" in str(m) or "chiffre" in str(m) for m in response.context["messages"]
    )


def test_a_place_without_coordinates_is_located_from_its_postal_code(adviser_client):
    data = practitioner_form(**empty_inlines(places=1))
    data.update(
        {
            "places-0-name": "Cabinet",
            "places-0-address": "3 place Bellecour",
            "places-0-postal_code": "69002",
            "places-0-commune": "Lyon",
            "places-0-is_active": "on",
            "places-0-is_primary": "on",
            "specialties": [str(Specialty.objects.get(code="cardiology").pk)],
        }
    )

    response = adviser_client.post("/admin/specialists/practitioner/add/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    place = PracticePlace.objects.get()
    assert place.latitude == pytest.approx(45.76, abs=0.05)
    assert place.geocode_precision == PracticePlace.GeocodePrecision.CITY
    practitioner = Practitioner.objects.get()
    assert practitioner.specialty_labels  # searchable by its specialty


def test_the_change_page_shows_the_key_warning_and_every_editor(adviser_client):
    good = valid_rpps(7)
    practitioner = PractitionerFactory(rpps=good[:-1] + str((int(good[-1]) + 1) % 10))
    PracticePlaceFactory(practitioner=practitioner)

    response = adviser_client.get(
        f"/admin/specialists/practitioner/{practitioner.pk}/change/"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "specialists-warning" in html
    for prefix in INLINES:
        assert f'name="{prefix}-TOTAL_FORMS"' in html


def test_recording_a_verification_asks_for_evidence_then_verifies(adviser_client):
    practitioner = PractitionerFactory()
    url = "/admin/specialists/practitioner/"
    action = {"action": "record_verification", "_selected_action": [practitioner.pk]}

    asked = adviser_client.post(url, action)
    due = (timezone.localdate() + timedelta(days=365)).isoformat()
    done = adviser_client.post(
        url,
        {
            **action,
            "apply": "1",
            "kind": "rpps",
            "outcome": "verified",
            "evidence": "Fiche annuaire.sante.fr",
            "valid_until": due,
        },
    )

    assert asked.status_code == 200
    assert "specialists/admin/verify.html" in [t.name for t in asked.templates]
    assert done.status_code == 302
    practitioner.refresh_from_db()
    assert practitioner.is_proposable()
    assert VerificationRecord.objects.get().evidence == "Fiche annuaire.sante.fr"


def test_a_coordinator_cannot_record_verifications(staff_client, db):
    client = staff_client(UserFactory(role=Role.CARE_COORDINATOR))

    response = client.get("/admin/specialists/practitioner/")

    actions = dict(response.context["action_form"].fields["action"].choices)
    assert "record_verification" not in actions
    assert "refresh_next_availability" in actions


def test_reviews_are_published_and_rejected_with_a_reason(adviser_client):
    kept, dropped = ReviewFactory(rating=5), ReviewFactory(rating=1)
    url = "/admin/specialists/review/"

    adviser_client.post(
        url, {"action": "publish_reviews", "_selected_action": [kept.pk]}
    )
    adviser_client.post(
        url,
        {
            "action": "reject_reviews",
            "_selected_action": [dropped.pk],
            "apply": "1",
            "reason": "Propos injurieux",
        },
    )

    kept.refresh_from_db()
    dropped.refresh_from_db()
    assert kept.state == Review.State.PUBLISHED
    assert dropped.state == Review.State.REJECTED
    assert dropped.rejection_reason == "Propos injurieux"
    kept.practitioner.refresh_from_db()
    assert kept.practitioner.rating_count == 1


def test_the_match_page_ranks_explains_and_shortlists(adviser_client):
    practitioner = PractitionerFactory(
        verified=True,
        specialties=["cardiology"],
        next_available_at=timezone.now() + timedelta(days=1),
    )
    PracticePlaceFactory(practitioner=practitioner)
    PractitionerFactory(specialties=["cardiology"])  # not verified
    criteria = {
        "specialty": "cardiology",
        "postal_code": "75002",
        "radius_km": "10",
        "mode": "in_person",
        "limit": "20",
        "request_reference": "D-ABC123",
    }

    ranked = adviser_client.post("/admin/specialists/practitioner/match/", criteria)
    created = adviser_client.post(
        "/admin/specialists/practitioner/match/",
        {**criteria, "shortlist": "1", "chosen": [str(practitioner.public_id)]},
    )

    assert ranked.status_code == 200
    results = ranked.context["results"]
    assert [result.practitioner for result in results] == [practitioner]
    assert "disponible demain" in ranked.content.decode()
    shortlist = Shortlist.objects.get()
    assert created.status_code == 302
    assert created["Location"].endswith(f"/shortlist/{shortlist.pk}/change/")
    assert shortlist.request_reference == "D-ABC123"
    assert shortlist.entries.get().explanation == results[0].explanation


def test_the_match_page_needs_a_place_unless_teleconsultation(adviser_client):
    response = adviser_client.post(
        "/admin/specialists/practitioner/match/",
        {
            "specialty": "cardiology",
            "radius_km": "10",
            "mode": "in_person",
            "limit": "5",
        },
    )

    assert response.context["form"].has_error("__all__", code="place_required")


def test_a_shortlist_is_proposed_from_its_list(adviser_client):
    from specialists import services

    adviser = UserFactory(role=Role.MEDICAL_ADVISER)
    shortlist = services.create_shortlist(request_reference="D-1", by=adviser)
    services.add_to_shortlist(
        shortlist=shortlist, practitioner=PractitionerFactory(verified=True), by=adviser
    )

    adviser_client.post(
        "/admin/specialists/shortlist/",
        {"action": "propose", "_selected_action": [shortlist.pk]},
    )

    shortlist.refresh_from_db()
    assert shortlist.state == Shortlist.State.PUBLISHED
    page = adviser_client.get(f"/admin/specialists/shortlist/{shortlist.pk}/change/")
    assert page.status_code == 200


def test_the_catalogue_and_postal_codes_are_browsable(adviser_client):
    assert adviser_client.get("/admin/specialists/specialty/").status_code == 200
    assert (
        adviser_client.get("/admin/specialists/postalcode/?q=lyon").status_code == 200
    )
    assert (
        adviser_client.get("/admin/specialists/verificationrecord/").status_code == 200
    )


def test_only_a_practitioner_account_can_be_linked(db):
    practitioner = PractitionerFactory()
    patient = UserFactory(role=Role.PATIENT)

    practitioner.user = patient
    with pytest.raises(ValidationError) as error:
        practitioner.full_clean()

    assert "user" in error.value.error_dict
    practitioner.user = UserFactory(role=Role.PRACTITIONER)
    practitioner.full_clean()


def test_a_shortlist_is_built_by_hand_with_verified_practitioners_only(adviser_client):
    verified = PractitionerFactory(verified=True)
    unverified = PractitionerFactory()

    def post(practitioner):
        return adviser_client.post(
            "/admin/specialists/shortlist/add/",
            {
                "request_reference": "D-HAND1",
                "message": "Voici deux cardiologues disponibles cette semaine.",
                "entries-TOTAL_FORMS": "1",
                "entries-INITIAL_FORMS": "0",
                "entries-MIN_NUM_FORMS": "0",
                "entries-MAX_NUM_FORMS": "1000",
                "entries-0-position": "1",
                "entries-0-practitioner": str(practitioner.pk),
                "entries-0-note": "",
            },
        )

    refused = post(unverified)
    accepted = post(verified)

    assert refused.status_code == 200
    assert accepted.status_code == 302
    shortlist = Shortlist.objects.get()
    assert shortlist.created_by.has_perm("specialists.add_shortlist")
    assert [entry.practitioner for entry in shortlist.entries.all()] == [verified]
