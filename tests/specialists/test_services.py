"""Verification, reviews, shortlists and the maintained columns."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conciergerie.accounts.roles import Role
from specialists import services
from specialists.matching import MatchCriteria, rank_practitioners
from specialists.models import (
    Practitioner,
    Review,
    Shortlist,
    Specialty,
    VerificationRecord,
)
from specialists.search import SearchFilters
from tests.factories import UserFactory
from tests.specialists.conftest import error_codes
from tests.specialists.factories import (
    OpeningHoursFactory,
    PracticePlaceFactory,
    PractitionerFactory,
    ReviewFactory,
)


@pytest.fixture
def adviser(db):
    return UserFactory(role=Role.MEDICAL_ADVISER)


def verify(practitioner, by, **kwargs):
    values = {
        "kind": VerificationRecord.Kind.RPPS_REGISTRATION,
        "evidence": "Annuaire Santé, fiche consultée le jour même",
        "valid_until": timezone.localdate() + timedelta(days=365),
    }
    values.update(kwargs)
    return services.verify_practitioner(practitioner=practitioner, by=by, **values)


# --- Verification -----------------------------------------------------------------


def test_a_verification_makes_the_practitioner_proposable_until_its_due_date(
    adviser,
):
    practitioner = PractitionerFactory()
    assert not practitioner.is_proposable()

    record = verify(practitioner, adviser)

    practitioner.refresh_from_db()
    assert practitioner.is_proposable()
    assert practitioner.verified_until == record.valid_until
    assert record.checked_by == adviser
    assert practitioner in Practitioner.objects.proposable()
    assert practitioner not in Practitioner.objects.proposable(
        on=record.valid_until + timedelta(days=1)
    )


def test_a_failed_check_withdraws_the_practitioner_at_once(adviser):
    practitioner = PractitionerFactory(verified=True)

    verify(
        practitioner,
        adviser,
        outcome=VerificationRecord.Outcome.FAILED,
        valid_until=None,
        evidence="Radié du tableau de l'Ordre",
    )

    practitioner.refresh_from_db()
    assert practitioner.verified_until is None
    assert not practitioner.is_proposable()
    assert practitioner.verifications.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"valid_until": None}, "due_date_required"),
        ({"valid_until": timezone.localdate()}, "due_date_past"),
        ({"evidence": "   "}, "evidence_required"),
    ],
)
def test_a_verification_needs_evidence_and_a_future_due_date(adviser, kwargs, code):
    practitioner = PractitionerFactory()

    with pytest.raises(ValidationError) as error:
        verify(practitioner, adviser, **kwargs)

    assert error_codes(error.value) == {code}
    assert not VerificationRecord.objects.exists()


def test_an_unlisted_practitioner_cannot_be_verified(adviser):
    practitioner = PractitionerFactory(is_active=False)

    with pytest.raises(ValidationError) as error:
        verify(practitioner, adviser)

    assert error.value.code == "not_listed"


# --- Reviews ----------------------------------------------------------------------


def test_a_submitted_review_waits_for_moderation(db):
    practitioner = PractitionerFactory(verified=True)

    review = services.submit_review(
        practitioner=practitioner, rating=4, comment=" Bien ", source_reference="S-1"
    )

    assert review.state == Review.State.PENDING
    assert review.comment == "Bien"
    practitioner.refresh_from_db()
    assert practitioner.rating_count == 0
    assert practitioner.rating_average is None


def test_the_same_consultation_cannot_be_reviewed_twice(db):
    practitioner = PractitionerFactory()
    services.submit_review(practitioner=practitioner, rating=4, source_reference="S-1")

    with pytest.raises(ValidationError) as error:
        services.submit_review(
            practitioner=practitioner, rating=5, source_reference="S-1"
        )

    assert error.value.code == "duplicate_review"


def test_a_rating_outside_one_to_five_is_refused(db):
    with pytest.raises(ValidationError) as error:
        services.submit_review(practitioner=PractitionerFactory(), rating=6)

    assert "rating" in error.value.error_dict


def test_publishing_and_rejecting_keep_the_average_up_to_date(adviser):
    practitioner = PractitionerFactory(verified=True)
    reviews = [ReviewFactory(practitioner=practitioner, rating=r) for r in (5, 4, 2)]

    for review in reviews:
        services.publish_review(review=review, by=adviser)
    practitioner.refresh_from_db()
    assert (practitioner.rating_average, practitioner.rating_count) == (
        Decimal("3.67"),
        3,
    )

    services.reject_review(review=reviews[2], by=adviser, reason="Hors sujet")

    practitioner.refresh_from_db()
    assert (practitioner.rating_average, practitioner.rating_count) == (
        Decimal("4.50"),
        2,
    )
    reviews[2].refresh_from_db()
    assert reviews[2].state == Review.State.REJECTED
    assert reviews[2].moderated_by == adviser


def test_a_published_review_cannot_be_published_again(adviser):
    review = ReviewFactory()
    services.publish_review(review=review, by=adviser)

    with pytest.raises(ValidationError) as error:
        services.publish_review(review=review, by=adviser)

    assert error.value.code == "not_publishable"


def test_a_rejection_needs_a_reason(adviser):
    with pytest.raises(ValidationError) as error:
        services.reject_review(review=ReviewFactory(), by=adviser, reason=" ")

    assert error_codes(error.value) == {"reason_required"}


# --- Shortlists -------------------------------------------------------------------


@pytest.fixture
def shortlist(adviser):
    return services.create_shortlist(request_reference="D-7K3P9", by=adviser)


def test_a_shortlist_keeps_the_order_of_addition(shortlist, adviser):
    first, second = (
        PractitionerFactory(verified=True),
        PractitionerFactory(verified=True),
    )

    services.add_to_shortlist(shortlist=shortlist, practitioner=first, by=adviser)
    services.add_to_shortlist(
        shortlist=shortlist, practitioner=second, by=adviser, explanation="2 km"
    )

    assert [entry.practitioner for entry in shortlist.entries.all()] == [first, second]
    assert shortlist.entries.get(practitioner=second).explanation == "2 km"


def test_an_unverified_practitioner_cannot_be_shortlisted(shortlist, adviser):
    with pytest.raises(ValidationError) as error:
        services.add_to_shortlist(
            shortlist=shortlist, practitioner=PractitionerFactory(), by=adviser
        )

    assert error.value.code == "not_proposable"


def test_a_practitioner_is_shortlisted_once(shortlist, adviser):
    practitioner = PractitionerFactory(verified=True)
    services.add_to_shortlist(
        shortlist=shortlist, practitioner=practitioner, by=adviser
    )

    with pytest.raises(ValidationError) as error:
        services.add_to_shortlist(
            shortlist=shortlist, practitioner=practitioner, by=adviser
        )

    assert error.value.code == "already_listed"


def test_publishing_proposes_the_shortlist_and_freezes_it(shortlist, adviser):
    practitioner = PractitionerFactory(verified=True)
    services.add_to_shortlist(
        shortlist=shortlist, practitioner=practitioner, by=adviser
    )

    services.publish_shortlist(shortlist=shortlist, by=adviser)

    shortlist.refresh_from_db()
    assert shortlist.state == Shortlist.State.PUBLISHED
    assert shortlist.published_by == adviser
    with pytest.raises(ValidationError) as error:
        services.add_to_shortlist(
            shortlist=shortlist,
            practitioner=PractitionerFactory(verified=True),
            by=adviser,
        )
    assert error.value.code == "not_draft"


CALLS: list = []


def record_publication(*, shortlist, by):
    CALLS.append((shortlist.request_reference, by))


def test_publishing_calls_the_care_request_hook_in_the_same_transaction(
    shortlist, adviser, settings
):
    settings.SPECIALISTS_SHORTLIST_PUBLISHED = (
        "tests.specialists.test_services.record_publication"
    )
    CALLS.clear()
    services.add_to_shortlist(
        shortlist=shortlist, practitioner=PractitionerFactory(verified=True), by=adviser
    )

    services.publish_shortlist(shortlist=shortlist, by=adviser)

    assert [("D-7K3P9", adviser)] == CALLS


def failing_hook(*, shortlist, by):
    raise ValidationError("The request is closed.", code="request_closed")


def test_a_refusing_hook_leaves_the_shortlist_in_draft(shortlist, adviser, settings):
    settings.SPECIALISTS_SHORTLIST_PUBLISHED = (
        "tests.specialists.test_services.failing_hook"
    )
    services.add_to_shortlist(
        shortlist=shortlist, practitioner=PractitionerFactory(verified=True), by=adviser
    )

    with pytest.raises(ValidationError):
        services.publish_shortlist(shortlist=shortlist, by=adviser)

    shortlist.refresh_from_db()
    assert shortlist.state == Shortlist.State.DRAFT


def test_an_empty_shortlist_cannot_be_proposed(shortlist, adviser):
    with pytest.raises(ValidationError) as error:
        services.publish_shortlist(shortlist=shortlist, by=adviser)

    assert error.value.code == "empty_shortlist"


def test_a_practitioner_whose_verification_expired_blocks_the_proposal(
    shortlist, adviser
):
    practitioner = PractitionerFactory(verified=True)
    services.add_to_shortlist(
        shortlist=shortlist, practitioner=practitioner, by=adviser
    )
    Practitioner.objects.filter(pk=practitioner.pk).update(
        verified_until=timezone.localdate() - timedelta(days=1)
    )

    with pytest.raises(ValidationError) as error:
        services.publish_shortlist(shortlist=shortlist, by=adviser)

    assert error.value.code == "not_proposable"


def test_one_proposal_per_request_until_it_is_withdrawn(shortlist, adviser):
    practitioner = PractitionerFactory(verified=True)
    services.add_to_shortlist(
        shortlist=shortlist, practitioner=practitioner, by=adviser
    )
    services.publish_shortlist(shortlist=shortlist, by=adviser)
    second = services.create_shortlist(request_reference="D-7K3P9", by=adviser)
    services.add_to_shortlist(shortlist=second, practitioner=practitioner, by=adviser)

    with pytest.raises(ValidationError) as error:
        services.publish_shortlist(shortlist=second, by=adviser)
    assert error.value.code == "already_proposed"

    services.withdraw_shortlist(shortlist=shortlist, by=adviser)
    services.publish_shortlist(shortlist=second, by=adviser)
    second.refresh_from_db()
    assert second.state == Shortlist.State.PUBLISHED


def test_a_shortlist_from_matches_keeps_scores_and_explanations(adviser):
    practitioner = PractitionerFactory(verified=True, specialties=["cardiology"])
    PracticePlaceFactory(practitioner=practitioner)
    criteria = MatchCriteria(specialty="cardiology", postal_code="75002")
    matches = rank_practitioners(criteria)

    shortlist = services.shortlist_from_matches(
        request_reference="D-1",
        by=adviser,
        matches=matches,
        criteria=criteria.as_dict(),
    )

    entry = shortlist.entries.get()
    assert entry.practitioner == practitioner
    assert entry.score == matches[0].score
    assert entry.explanation == matches[0].explanation
    assert shortlist.criteria["specialty"] == "cardiology"


def test_the_shortlists_of_the_back_office_are_hidden_from_patients(shortlist):
    patient = UserFactory(role=Role.PATIENT)

    assert list(Shortlist.objects.visible_to(patient)) == []
    assert shortlist in Shortlist.objects.visible_to(
        UserFactory(role=Role.CARE_COORDINATOR)
    )


# --- Maintained columns ------------------------------------------------------------


def test_changing_specialties_refreshes_the_searchable_text(db):
    practitioner = PractitionerFactory(verified=True, specialties=["dermatology"])
    assert not Practitioner.objects.search(
        SearchFilters(query="ophtalmologue")
    ).exists()

    practitioner.specialties.add(Specialty.objects.get(code="ophthalmology"))
    services.refresh_search_columns(practitioner_ids=[practitioner.pk])

    assert list(Practitioner.objects.search(SearchFilters(query="ophtalmologue"))) == [
        practitioner
    ]


def test_renaming_keeps_the_name_search_in_step(db):
    practitioner = PractitionerFactory(verified=True, last_name="Martin")

    practitioner.last_name = "Bérénice-Lemaître"
    practitioner.save(update_fields=["last_name"])

    practitioner.refresh_from_db()
    assert practitioner.search_name.endswith("berenice lemaitre")


def test_an_availability_change_refreshes_the_next_slot_after_commit(
    db, django_capture_on_commit_callbacks
):
    practitioner = PractitionerFactory(verified=True)
    OpeningHoursFactory(
        practitioner=practitioner,
        weekday=(timezone.localdate() + timedelta(days=1)).weekday(),
        starts_at=time(9),
        ends_at=time(12),
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.availability_changed(practitioner_id=practitioner.pk)

    assert len(callbacks) == 1
    practitioner.refresh_from_db()
    assert practitioner.next_available_at is not None
    assert practitioner.availability_refreshed_at is not None


def test_the_periodic_refresh_covers_every_listed_practitioner(db):
    from specialists import tasks

    weekday = (timezone.localdate() + timedelta(days=1)).weekday()
    listed = OpeningHoursFactory(weekday=weekday).practitioner
    unlisted = OpeningHoursFactory(
        weekday=weekday, practitioner=PractitionerFactory(is_active=False)
    ).practitioner

    assert tasks.refresh_availability() == 1

    listed.refresh_from_db()
    unlisted.refresh_from_db()
    assert listed.next_available_at is not None
    assert unlisted.next_available_at is None


def test_a_refresh_writes_only_the_rows_whose_next_slot_moved(db):
    weekday = (timezone.localdate() + timedelta(days=1)).weekday()
    practitioner = OpeningHoursFactory(weekday=weekday).practitioner
    services.refresh_availability(practitioner_ids=[practitioner.pk])
    practitioner.refresh_from_db()
    first = practitioner.availability_refreshed_at

    services.refresh_availability(practitioner_ids=[practitioner.pk])

    practitioner.refresh_from_db()
    assert practitioner.availability_refreshed_at == first


def test_the_refresh_is_scheduled_every_quarter_of_an_hour(settings):
    from datetime import timedelta as delta

    entry = settings.CELERY_BEAT_SCHEDULE["specialists-refresh-availability"]

    assert entry["task"] == "specialists.tasks.refresh_availability"
    assert entry["schedule"] == delta(minutes=15)
