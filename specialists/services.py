"""Every write of the directory that matters: verification, reviews, shortlists,
search columns and the precomputed next availability."""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from conciergerie.accounts.models import User

from . import answer_cache, availability, tasks
from .models import (
    Practitioner,
    Review,
    Shortlist,
    ShortlistEntry,
    VerificationRecord,
)

REFRESH_BATCH = 500


def _field_error(field: str, message: str, code: str) -> ValidationError:
    """An error on one field, keeping its code for the API's field errors."""
    return ValidationError({field: ValidationError(message, code=code)})


# --- Search columns and availability -----------------------------------------------


def refresh_search_columns(*, practitioner_ids: Iterable[int] | None = None) -> None:
    """Copy specialty names and keywords into the searchable text, in one UPDATE.

    Specialties are a many-to-many relation, which a generated column cannot
    read: every path that changes them calls this.
    """
    ids = None if practitioner_ids is None else list(practitioner_ids)
    if ids == []:
        return
    through = Practitioner.specialties.through._meta.db_table
    practitioners = Practitioner._meta.db_table
    specialties = "specialists_specialty"
    condition = "" if ids is None else "WHERE p.id = ANY(%s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {practitioners} AS p SET specialty_labels = COALESCE((
                SELECT string_agg(
                    s.name || ' ' || s.name_en || ' ' || s.practitioner_title
                    || ' ' || s.keywords, ' ' ORDER BY s.sort_order)
                FROM {through} AS ps JOIN {specialties} AS s ON s.id = ps.specialty_id
                WHERE ps.practitioner_id = p.id
            ), '')
            {condition}
            """,  # noqa: S608 - table names come from the models, values are bound  # nosec B608
            [] if ids is None else [ids],
        )
    # Imports and the demo write practitioners in bulk, without signals: the
    # search answers of the directory they changed must go too.
    answer_cache.searches.invalidate(answer_cache.DIRECTORY)


def refresh_availability(
    *, practitioner_ids: Sequence[int] | None = None, now: datetime | None = None
) -> int:
    """Recompute `next_available_at`, in batches; returns how many were refreshed.

    Sorting by earliest availability then reads an indexed column instead of
    computing slots for every practitioner of a search.
    """
    now = now or timezone.now()
    if practitioner_ids is None:
        ids = list(
            Practitioner.objects.filter(is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    else:
        ids = list(practitioner_ids)
    refreshed = 0
    table = Practitioner._meta.db_table
    for offset in range(0, len(ids), REFRESH_BATCH):
        batch = ids[offset : offset + REFRESH_BATCH]
        times = availability.next_available_times(batch, now=now)
        # Only rows whose next slot moved are written: rewriting every row every
        # quarter of an hour would bloat the table and its indexes for nothing.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS p
                SET next_available_at = v.moment, availability_refreshed_at = %s
                FROM (
                    SELECT unnest(%s::bigint[]) AS id,
                           unnest(%s::timestamptz[]) AS moment
                ) AS v
                WHERE p.id = v.id AND p.next_available_at IS DISTINCT FROM v.moment
                """,  # noqa: S608 - the table name comes from the model  # nosec B608
                [now, list(times), list(times.values())],
            )
        refreshed += len(times)
    return refreshed


def availability_changed(*, practitioner_id: int) -> None:
    """Hours, exceptions or bookings changed: refresh the next slot after commit.

    The appointments app calls this after booking, moving or cancelling.
    """
    tasks.refresh_practitioner_availability.delay_on_commit(practitioner_id)


# --- Verification ------------------------------------------------------------------


@transaction.atomic
def verify_practitioner(
    *,
    practitioner: Practitioner,
    by: User,
    kind: str,
    evidence: str,
    valid_until: date | None,
    outcome: str = VerificationRecord.Outcome.VERIFIED,
    notes: str = "",
) -> VerificationRecord:
    """Record a check; the latest check decides whether the practitioner is proposed.

    A successful check makes the practitioner proposable until its
    re-verification date; a failed one withdraws them at once.
    """
    practitioner = Practitioner.objects.select_for_update().get(pk=practitioner.pk)
    if not practitioner.is_active:
        raise ValidationError(
            _("An unlisted practitioner cannot be verified."), code="not_listed"
        )
    if outcome == VerificationRecord.Outcome.VERIFIED:
        if valid_until is None:
            raise _field_error(
                "valid_until",
                _("Give the re-verification due date."),
                "due_date_required",
            )
        if valid_until <= timezone.localdate():
            raise _field_error(
                "valid_until",
                _("The re-verification date must be in the future."),
                "due_date_past",
            )
    if not evidence.strip():
        raise _field_error("evidence", _("Say what was checked."), "evidence_required")
    record = VerificationRecord(
        practitioner=practitioner,
        kind=kind,
        outcome=outcome,
        checked_by=by,
        checked_at=timezone.now(),
        evidence=evidence.strip(),
        valid_until=valid_until
        if outcome == VerificationRecord.Outcome.VERIFIED
        else None,
        notes=notes,
    )
    record.full_clean()
    record.save()
    if outcome == VerificationRecord.Outcome.VERIFIED:
        practitioner.verified_at = record.checked_at
        practitioner.verified_until = valid_until
    else:
        practitioner.verified_at = None
        practitioner.verified_until = None
    practitioner.save(update_fields=["verified_at", "verified_until", "updated_at"])
    return record


# --- Reviews -----------------------------------------------------------------------


@transaction.atomic
def submit_review(
    *,
    practitioner: Practitioner,
    rating: int,
    comment: str = "",
    author: User | None = None,
    source_reference: str = "",
) -> Review:
    """File a patient's rating; nobody sees it before a concierge publishes it."""
    if (
        source_reference
        and Review.objects.filter(source_reference=source_reference).exists()
    ):
        raise ValidationError(
            _("This consultation has already been reviewed."), code="duplicate_review"
        )
    review = Review(
        practitioner=practitioner,
        rating=rating,
        comment=comment.strip(),
        author=author,
        source_reference=source_reference,
    )
    review.full_clean(exclude=["state"])
    review.save()
    return review


@transaction.atomic
def publish_review(*, review: Review, by: User) -> Review:
    """Publish after moderation; the practitioner's average follows."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if not can_proceed(review.publish):
        raise ValidationError(
            _("This review is already published."), code="not_publishable"
        )
    review.publish(by=by)
    review.save(
        update_fields=[
            "state",
            "moderated_by",
            "moderated_at",
            "rejection_reason",
            "updated_at",
        ]
    )
    refresh_rating(practitioner_id=review.practitioner_id)
    return review


@transaction.atomic
def reject_review(*, review: Review, by: User, reason: str) -> Review:
    """Keep a review out of sight (insult, health data, not about care)."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if not reason.strip():
        raise _field_error(
            "reason", _("Say why the review is rejected."), "reason_required"
        )
    if not can_proceed(review.reject):
        raise ValidationError(
            _("This review is already rejected."), code="not_rejectable"
        )
    review.reject(by=by, reason=reason.strip())
    review.save(
        update_fields=[
            "state",
            "moderated_by",
            "moderated_at",
            "rejection_reason",
            "updated_at",
        ]
    )
    refresh_rating(practitioner_id=review.practitioner_id)
    return review


def refresh_rating(*, practitioner_id: int) -> None:
    """Keep the published average and count on the practitioner's row."""
    practitioner = Practitioner.objects.select_for_update().get(pk=practitioner_id)
    aggregate = (
        Review.objects.published()
        .filter(practitioner_id=practitioner_id)
        .aggregate(average=Avg("rating"), count=Count("pk"))
    )
    average = aggregate["average"]
    practitioner.rating_average = (
        Decimal(str(average)).quantize(Decimal("0.01")) if average is not None else None
    )
    practitioner.rating_count = aggregate["count"]
    practitioner.save(update_fields=["rating_average", "rating_count", "updated_at"])


# --- Shortlists --------------------------------------------------------------------


@transaction.atomic
def create_shortlist(
    *,
    request_reference: str,
    by: User,
    message: str = "",
    criteria: dict | None = None,
) -> Shortlist:
    """Start a selection of practitioners for one care request."""
    shortlist = Shortlist(
        request_reference=request_reference.strip(),
        created_by=by,
        message=message,
        criteria=criteria or {},
    )
    shortlist.full_clean(exclude=["state"])
    shortlist.save()
    return shortlist


@transaction.atomic
def add_to_shortlist(
    *,
    shortlist: Shortlist,
    practitioner: Practitioner,
    by: User,
    score: float | None = None,
    explanation: str = "",
    note: str = "",
) -> ShortlistEntry:
    """Add a practitioner who may be proposed; the list keeps the order of addition."""
    shortlist = Shortlist.objects.select_for_update().get(pk=shortlist.pk)
    if shortlist.state != Shortlist.State.DRAFT:
        raise ValidationError(
            _("A proposed shortlist can no longer change."), code="not_draft"
        )
    if not practitioner.is_proposable():
        raise ValidationError(
            _("This practitioner is not verified and cannot be proposed."),
            code="not_proposable",
        )
    if shortlist.entries.filter(practitioner=practitioner).exists():
        raise ValidationError(
            _("This practitioner is already in the shortlist."), code="already_listed"
        )
    position = shortlist.entries.count() + 1
    return ShortlistEntry.objects.create(
        shortlist=shortlist,
        practitioner=practitioner,
        position=position,
        score=score,
        explanation=explanation[:400],
        note=note[:400],
    )


@transaction.atomic
def remove_from_shortlist(
    *, shortlist: Shortlist, practitioner: Practitioner, by: User
) -> None:
    shortlist = Shortlist.objects.select_for_update().get(pk=shortlist.pk)
    if shortlist.state != Shortlist.State.DRAFT:
        raise ValidationError(
            _("A proposed shortlist can no longer change."), code="not_draft"
        )
    shortlist.entries.filter(practitioner=practitioner).delete()


@transaction.atomic
def publish_shortlist(*, shortlist: Shortlist, by: User) -> Shortlist:
    """Send the selection to the patient as a proposal.

    Every practitioner must still be proposable (a verification may have expired
    since they were added). The function named by
    `settings.SPECIALISTS_SHORTLIST_PUBLISHED`, if any, runs in the same
    transaction: the care-request app moves the request to `proposed` there.
    """
    shortlist = Shortlist.objects.select_for_update().get(pk=shortlist.pk)
    if not can_proceed(shortlist.publish):
        raise ValidationError(
            _("This shortlist has already been proposed."), code="not_draft"
        )
    entries = list(shortlist.entries.select_related("practitioner"))
    if not entries:
        raise ValidationError(
            _("Add at least one practitioner before proposing."), code="empty_shortlist"
        )
    stale = [entry for entry in entries if not entry.practitioner.is_proposable()]
    if stale:
        raise ValidationError(
            _("%(names)s can no longer be proposed: remove them first.")
            % {"names": ", ".join(str(entry.practitioner) for entry in stale)},
            code="not_proposable",
        )
    if Shortlist.objects.filter(
        request_reference=shortlist.request_reference, state=Shortlist.State.PUBLISHED
    ).exists():
        raise ValidationError(
            _("Another shortlist is already proposed for this request."),
            code="already_proposed",
        )
    shortlist.publish(by=by)
    shortlist.save(
        update_fields=["state", "published_by", "published_at", "updated_at"]
    )
    hook = getattr(settings, "SPECIALISTS_SHORTLIST_PUBLISHED", None)
    if hook:
        import_string(hook)(shortlist=shortlist, by=by)
    return shortlist


@transaction.atomic
def withdraw_shortlist(*, shortlist: Shortlist, by: User) -> Shortlist:
    """Take a shortlist back (the need changed); a new one can then be proposed."""
    shortlist = Shortlist.objects.select_for_update().get(pk=shortlist.pk)
    if not can_proceed(shortlist.withdraw):
        raise ValidationError(
            _("This shortlist is already withdrawn."), code="not_withdrawable"
        )
    shortlist.withdraw()
    shortlist.save(update_fields=["state", "updated_at"])
    return shortlist


@transaction.atomic
def shortlist_from_matches(
    *,
    request_reference: str,
    by: User,
    matches: Sequence,
    criteria: dict | None = None,
    message: str = "",
) -> Shortlist:
    """A draft shortlist from chosen `MatchResult`s, keeping score and explanation."""
    if not matches:
        raise ValidationError(
            _("Choose at least one practitioner."), code="empty_shortlist"
        )
    shortlist = create_shortlist(
        request_reference=request_reference, by=by, message=message, criteria=criteria
    )
    for match in matches:
        add_to_shortlist(
            shortlist=shortlist,
            practitioner=match.practitioner,
            by=by,
            score=match.score,
            explanation=match.explanation,
        )
    return shortlist
