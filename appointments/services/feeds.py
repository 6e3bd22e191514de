"""Private calendar feeds: one URL per patient and per practitioner, revocable."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .. import access, links
from ..models import CalendarFeed


def _may_manage(by, *, patient=None, practitioner=None) -> bool:
    if by is None or not by.is_authenticated:
        return False
    if access.is_back_office(by):
        return by.has_perm("appointments.change_calendarfeed")
    if patient is not None:
        return access.manages(by, patient)
    return practitioner.user_id == by.pk


@transaction.atomic
def calendar_feed(*, by, patient=None, practitioner=None) -> CalendarFeed:
    """The active feed of a patient or a practitioner, created on first use."""
    if (patient is None) == (practitioner is None):
        raise ValueError("A feed belongs to a patient or a practitioner")
    if not _may_manage(by, patient=patient, practitioner=practitioner):
        raise PermissionDenied
    owner = (
        {"patient": patient} if patient is not None else {"practitioner": practitioner}
    )
    feed = CalendarFeed.objects.select_for_update().active().filter(**owner).first()
    if feed is None:
        feed = CalendarFeed.objects.create(created_by=by, **owner)
    return feed


@transaction.atomic
def revoke_feed(*, feed: CalendarFeed, by) -> CalendarFeed:
    """Kill the URL at once (it was shared too widely); a new one replaces it."""
    if not _may_manage(by, patient=feed.patient, practitioner=feed.practitioner):
        raise PermissionDenied
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at", "updated_at"])
    return feed


def feed_url(feed: CalendarFeed) -> str:
    token = links.make_token(links.Purpose.FEED, feed.public_id)
    return links.absolute(
        reverse("appointments:feed", kwargs={"token": f"{token}.ics"})
    )
