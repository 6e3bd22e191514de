"""The portal's directory: patients browse verified practitioners and free slots."""

from collections import defaultdict
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET

from . import answer_cache
from .availability import PARIS, compute_slots, load_schedules
from .forms import SearchForm, SlotsForm
from .models import ConsultationType, Practitioner, Review
from .search import place_items, specialty_items

PAGE_SIZE = 20
SLOT_DAYS = 7


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    page = _page_number(request)
    results: list[Practitioner] = []
    has_next = False
    searched = form.is_bound and form.is_valid()
    if searched or not form.is_bound:
        filters = form.to_filters() if searched else SearchForm.base_filters()

        def page_rows() -> list[Practitioner]:
            return list(
                Practitioner.objects.visible_to(request.user)
                .search(filters)
                .with_listing()[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1]
            )

        # The rows only (the page is rendered for each visitor): who asks decides
        # what they may see, the language names the specialties.
        asked = f"{request.user.pk}|{get_language()}|{filters!r}|{page}"
        rows = answer_cache.searches.cached(
            answer_cache.DIRECTORY, f"portal|{asked}", page_rows
        )
        has_next = len(rows) > PAGE_SIZE
        results = rows[:PAGE_SIZE]
    query = request.GET.copy()
    query.pop("page", None)
    # The form and the result cards are the same HTML for the same question, the
    # same visitor and the same directory: the template keeps them under this key.
    version = answer_cache.searches.version(answer_cache.DIRECTORY)
    return render(
        request,
        "specialists/search.html",
        {
            "fragment_key": f"{version}|{request.user.pk}|{request.GET.urlencode()}",
            "fragment_seconds": settings.SPECIALISTS_SEARCH_CACHE_SECONDS,
            "form": form,
            "results": [_card(practitioner) for practitioner in results],
            "page": page,
            "has_next": has_next,
            "query_string": query.urlencode(),
            "advanced": any(
                request.GET.get(name)
                for name in (
                    "language",
                    "gender",
                    "sector",
                    "max_fee",
                    "teleconsultation",
                    "wheelchair_accessible",
                    "available_before",
                )
            )
            or bool(form.is_bound and form.errors),
        },
    )


def _page_number(request: HttpRequest) -> int:
    try:
        return min(max(int(request.GET.get("page", 1)), 1), 500)
    except ValueError:
        return 1


def _card(practitioner: Practitioner) -> dict:
    places = place_items(practitioner)
    return {
        "practitioner": practitioner,
        "specialties": specialty_items(practitioner),
        "place": places[0] if places else None,
        "other_places": len(places) - 1 if places else 0,
        "distance_km": getattr(practitioner, "distance_km", None),
    }


@require_GET
def detail(request: HttpRequest, public_id) -> HttpResponse:
    practitioner = get_object_or_404(
        Practitioner.objects.visible_to(request.user)
        .with_listing()
        .prefetch_related(
            Prefetch(
                "reviews",
                queryset=Review.objects.published().order_by("-created_at")[:5],
                to_attr="latest_reviews",
            )
        ),
        public_id=public_id,
    )
    form = SlotsForm(request.GET)
    form.is_valid()  # a bad value falls back to its default below
    start_day = form.cleaned_data.get("start") or timezone.localdate()
    start = datetime.combine(start_day, time.min, tzinfo=PARIS)
    end = datetime.combine(
        start_day + timedelta(days=SLOT_DAYS), time.min, tzinfo=PARIS
    )
    schedule = load_schedules([practitioner.pk], start, end)[practitioner.pk]
    kinds = [
        (value, label)
        for value, label in ConsultationType.Kind.choices
        if value in schedule.bookable_kinds
    ]
    # A patient new to this practitioner books a first visit unless they say so.
    kind = form.cleaned_data.get("kind") or ""
    if kind not in schedule.bookable_kinds:
        kind = kinds[0][0] if kinds else ConsultationType.Kind.FIRST_VISIT
    slots = compute_slots(schedule, start=start, end=end, kind=kind)
    booking_url = _booking_url(practitioner)
    video = gettext("video")
    days: dict = defaultdict(list)
    # A week holds a hundred slots or more: each comes formatted, so that the
    # template prints strings instead of running filters on every one.
    for slot in slots:
        local = slot.starts_at.astimezone(PARIS)
        place = schedule.places.get(slot.place_id) if slot.place_id else None
        # Encoded: a raw "+01:00" offset would read back as a space.
        query = urlencode({"starts_at": slot.starts_at.isoformat(), "kind": slot.kind})
        days[local.date()].append(
            {
                "datetime": local.isoformat(),
                "time": local.strftime("%H:%M"),
                "where": video if slot.is_remote else (place.commune if place else ""),
                "booking_url": f"{booking_url}?{query}" if booking_url else "",
            }
        )
    today = timezone.localdate()
    return render(
        request,
        "specialists/detail.html",
        {
            "practitioner": practitioner,
            "specialties": specialty_items(practitioner),
            "places": place_items(practitioner),
            "reviews": practitioner.latest_reviews,
            "days": sorted(days.items()),
            "kinds": kinds,
            "kind": kind,
            "start_day": start_day,
            "end_day": start_day + timedelta(days=SLOT_DAYS - 1),
            "previous_start": (
                max(start_day - timedelta(days=SLOT_DAYS), today)
                if start_day > today
                else None
            ),
            "next_start": start_day + timedelta(days=SLOT_DAYS),
        },
    )


def _booking_url(practitioner: Practitioner) -> str:
    """Where the slots lead, once the appointments app names its booking page.

    `SPECIALISTS_SLOT_BOOKING_URL` is a URL name taking the practitioner's
    `public_id`; each slot adds itself in the query string.
    """
    name = getattr(settings, "SPECIALISTS_SLOT_BOOKING_URL", None)
    if not name:
        return ""
    try:
        return reverse(name, kwargs={"public_id": practitioner.public_id})
    except NoReverseMatch:
        return ""


@require_GET
def photo(request: HttpRequest, public_id) -> HttpResponseBase:
    """Practitioners' photos come through here: there is no public media URL."""
    practitioner = get_object_or_404(
        Practitioner.objects.visible_to(request.user).only("photo"), public_id=public_id
    )
    if not practitioner.photo:
        raise Http404
    try:
        handle = practitioner.photo.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
