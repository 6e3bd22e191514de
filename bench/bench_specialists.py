"""Benchmark the specialist directory on 10,000 practitioners.

Measures, in one run on one machine, against a bare Django view served through
the same middleware stack:

- search through the partner API (p50/p95, throughput, ratio to the bare view);
- free slots of one practitioner over four weeks, in-process (time and queries);
- sorting a city's practitioners by earliest availability (p95);
- queries per list request for page sizes 1, 20 and 100 (must not grow).

Bookings are real `appointments.Appointment` rows (100 per practitioner, about
a million), bulk-inserted once, read by the appointments app's busy-interval
source exactly as in production.

Usage: .venv/bin/python bench/bench_specialists.py [--practitioners 10000]
It uses its own database, conciergerie_bench_specialists (or $BENCH_DATABASE),
created and migrated here; the data is generated once (deterministic) and
reused by later runs.
"""

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_NAME = os.environ.get("BENCH_DATABASE", "conciergerie_bench_specialists")

APPOINTMENTS_PER_PRACTITIONER = 100
BENCH_PATIENTS = 1000

GOALS = {
    "search_p95_ms": 100.0,
    "search_vs_bare": 12.0,
    "search_vs_bare_api": 12.0,
    "cached_vs_bare": 12.0,
    "slots_ms": 20.0,
    "slots_queries": 3,
    "sorted_p95_ms": 200.0,
    "list_queries": 4,
}


def configure() -> None:
    base = os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/conciergerie"
    )
    parts = urlsplit(base)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{DATABASE_NAME}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["DJANGO_CONN_MAX_AGE"] = "600"

    import psycopg

    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    import django

    django.setup()


def load_appointments(connection) -> int:
    """About a million booked half-hours in the next two months, as real rows.

    `appointments.Appointment` rows, bulk-inserted by one INSERT … SELECT (the
    exclusion constraint and every index of the table checked as in
    production), for a thousand bench patients. Each practitioner's offsets are
    distinct multiples of a prime modulo the window, so that no two overlap. The
    slot computation reads them through the real busy-interval source.
    """
    from datetime import date

    from django.utils import timezone

    from appointments.models import Appointment
    from patients.models import REFERENCE_ALPHABET, Patient
    from specialists.models import PracticePlace

    def reference(index: int) -> str:
        body = ""
        for _digit in range(4):
            index, rest = divmod(index, len(REFERENCE_ALPHABET))
            body = REFERENCE_ALPHABET[rest] + body
        return f"P-ZZ{body}"

    if Appointment.objects.exists():
        return Appointment.objects.count()
    patients = [
        Patient(
            reference=reference(index),
            last_name=f"Banc {index}",
            first_names="Essai",
            birth_date=date(1970 + index % 40, 1 + index % 12, 1 + index % 28),
            sex="female" if index % 2 else "male",
        )
        for index in range(BENCH_PATIENTS)
    ]
    Patient.objects.bulk_create(patients, ignore_conflicts=True)
    patient_ids = list(
        Patient.objects.filter(reference__startswith="P-ZZ")
        .order_by("reference")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    computed = {
        "public_id": "gen_random_uuid()",
        "practitioner_id": "p.id",
        "place_id": "pl.place_id",
        "mode": "CASE WHEN pl.place_id IS NULL THEN %(video)s ELSE %(in_person)s END",
        "patient_id": "(%(patients)s)[1 + ((p.id + g) %% %(count)s)]",
        "starts_at": "slot",
        "ends_at": "slot + interval '30 minutes'",
        "state": "%(state)s",
        "booked_at": "%(now)s",
        "created_at": "%(now)s",
        "updated_at": "%(now)s",
    }
    columns, values, params = (
        [],
        [],
        {
            "patients": patient_ids,
            "count": len(patient_ids),
            "state": Appointment.State.BOOKED,
            "video": Appointment.Mode.VIDEO,
            "in_person": Appointment.Mode.IN_PERSON,
            "now": now,
            "per_practitioner": APPOINTMENTS_PER_PRACTITIONER,
        },
    )
    # Every other column takes its model default, as bulk_create would give it.
    for field in Appointment._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.attname in computed:
            values.append(computed[field.attname])
        else:
            params[field.attname] = field.get_db_prep_save(
                field.get_default(), connection
            )
            values.append(f"%({field.attname})s")
    # Only the model's own table and column names are formatted into the SQL.
    with connection.cursor() as cursor:
        sql = f"""
            INSERT INTO {Appointment._meta.db_table} ({", ".join(columns)})
            SELECT {", ".join(values)}
            FROM specialists_practitioner AS p,
                 generate_series(1, %(per_practitioner)s) AS g,
                 LATERAL (
                     SELECT date_trunc('day', now()) + interval '1 day'
                            + ((g * 7919 + p.id * 104729) %% 2880)
                            * interval '30 minutes' AS slot
                 ) AS s
            LEFT JOIN LATERAL (
                SELECT place.id AS place_id FROM {PracticePlace._meta.db_table} AS place
                WHERE place.practitioner_id = p.id ORDER BY place.id LIMIT 1
            ) AS pl ON true
            """  # noqa: S608
        cursor.execute(sql, params)
        cursor.execute(f"ANALYZE {Appointment._meta.db_table}")
    return Appointment.objects.count()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    p50, p95, p99 = (
        statistics.median(values),
        percentile(values, 0.95),
        percentile(values, 0.99),
    )
    return f"p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   p99 {p99:7.2f} ms"


def timed(call, repeat: int) -> tuple[list[float], float]:
    """Per-call durations in ms, and calls per second over the whole run."""
    durations = []
    started = time.perf_counter()
    for index in range(repeat):
        tick = time.perf_counter()
        call(index)
        durations.append((time.perf_counter() - tick) * 1000)
    elapsed = time.perf_counter() - started
    return durations, repeat / elapsed


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practitioners", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()

    configure()

    from datetime import timedelta

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.http import JsonResponse
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import clear_url_caches, path
    from django.utils import timezone
    from rest_framework.response import Response
    from rest_framework.views import APIView

    # A benchmark is a deliberate burst from one client: throttles (measured by
    # their own tests) would answer 429, so every API view here runs without.
    APIView.throttle_classes = ()

    from conciergerie import urls as project_urls
    from specialists import availability, demo
    from specialists.geocoding import ensure_postal_codes
    from specialists.models import Practitioner

    print(f"Database {DATABASE_NAME}: migrating…", flush=True)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    located = ensure_postal_codes()
    created = demo.generate(count=args.practitioners)
    total = Practitioner.objects.count()
    print(
        f"Directory: {total} practitioners ({created} created in "
        f"{time.perf_counter() - started:.1f} s; postal-code base "
        f"{'loaded' if located else 'absent, built-in cities'})"
    )
    if created:
        # What autovacuum does in production after a bulk load.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    tick = time.perf_counter()
    booked = load_appointments(connection)
    print(
        f"Bookings: {booked} appointments.Appointment rows "
        f"({time.perf_counter() - tick:.1f} s), read by "
        f"{settings.SPECIALISTS_BUSY_INTERVALS}"
    )

    # The bare views: same middleware, URL resolution and client, no work; the
    # second also authenticates the partner's token and checks its scope, as
    # every API view does.
    def bare(request):
        return JsonResponse({"ok": True})

    class BareApi(APIView):
        required_scopes = {"read": ["specialists:read"]}

        def get(self, request):
            return Response({"ok": True})

    urlconf = types.ModuleType("bench_specialists_urls")
    urlconf.urlpatterns = [
        path("bench/bare/", bare),
        path("bench/bare-api/", BareApi.as_view()),
        *project_urls.urlpatterns,
    ]
    sys.modules[urlconf.__name__] = urlconf
    settings.ROOT_URLCONF = urlconf.__name__
    clear_url_caches()

    from oauth2_provider.models import AccessToken, Application

    from conciergerie.accounts.models import User

    owner, _ = User.objects.get_or_create(email="bench-partner@conciergerie.local")
    application, _ = Application.objects.get_or_create(
        name="Bench partner",
        defaults={
            "user": owner,
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
        },
    )
    raw_token = "bench-specialists-token"  # noqa: S105 - a local benchmark
    AccessToken.objects.filter(application=application).delete()
    AccessToken.objects.create(
        application=application,
        token=raw_token,
        scope="specialists:read",
        expires=timezone.now() + timedelta(days=1),
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}")

    cities = ["Paris", "Lyon", "Marseille", "Toulouse", "Bordeaux", "Lille", "Nantes"]
    specialties = [
        "cardiology",
        "dermatology",
        "general-practice",
        "paediatrics",
        "ophthalmology",
        "psychology",
    ]
    queries = [
        {"specialty": specialties[i % 6], "place": cities[i % 7], "radius_km": 20}
        for i in range(12)
    ] + [
        {"q": "cardiologue", "place": "Lyon"},
        {"q": "martin"},
        {"specialty": "dermatology", "language": "en", "place": "Paris"},
        {"specialty": "general-practice", "sector": "1", "max_fee": "30"},
        {"place": "75011", "radius_km": 5, "teleconsultation": "true"},
        {"specialty": "gynaecology-obstetrics", "gender": "female", "place": "Nantes"},
    ]

    for index in range(30):  # warm-up: connections, caches, plans
        client.get("/bench/bare/")
        client.get("/bench/bare-api/")
        client.get("/api/v1/specialists/", queries[index % len(queries)])

    print("\n== Search through the API (sequential, in-process client)")
    bare_times, bare_rate = timed(lambda i: client.get("/bench/bare/"), args.requests)
    api_times, api_rate = timed(lambda i: client.get("/bench/bare-api/"), args.requests)
    statuses = set()

    def search(index):
        response = client.get("/api/v1/specialists/", queries[index % len(queries)])
        statuses.add(response.status_code)

    # Every answer computed (the cache off), then the same searches asked again
    # within the cache's lifetime, as partners and the portal repeat them (the
    # first round fills the cache, Redis as in production).
    cache_seconds = settings.SPECIALISTS_SEARCH_CACHE_SECONDS
    settings.SPECIALISTS_SEARCH_CACHE_SECONDS = 0
    search_times, search_rate = timed(search, args.requests)
    settings.SPECIALISTS_SEARCH_CACHE_SECONDS = cache_seconds or 60
    for index in range(len(queries)):
        search(index)
    cached_times, cached_rate = timed(search, args.requests)
    # What follows measures the search itself: no answer from the cache.
    settings.SPECIALISTS_SEARCH_CACHE_SECONDS = 0
    assert statuses == {200}, statuses
    bare_p95 = percentile(bare_times, 0.95)
    api_p95 = percentile(api_times, 0.95)
    print(f"bare view         {summary(bare_times)}   {bare_rate:7.1f} req/s")
    print(f"bare API view     {summary(api_times)}   {api_rate:7.1f} req/s")
    ratios = {}
    for label, times, rate in (
        ("search computed", search_times, search_rate),
        ("search cached", cached_times, cached_rate),
    ):
        p95 = percentile(times, 0.95)
        ratios[label] = (p95, p95 / bare_p95, p95 / api_p95)
        print(f"{label:<17} {summary(times)}   {rate:7.1f} req/s")
        print(
            f"  ratios          p95 {p95 / bare_p95:.1f}x the bare view "
            f"(throughput {bare_rate / rate:.1f}x lower); p95 {p95 / api_p95:.1f}x "
            f"the bare API view (throughput {api_rate / rate:.1f}x lower)"
        )
        print(
            f"  goals           p95 <= {GOALS['search_p95_ms']:.0f} ms "
            f"[{verdict(p95 <= GOALS['search_p95_ms'])}], "
            f"<= {GOALS['search_vs_bare']:.0f}x the bare view "
            f"[{verdict(p95 / bare_p95 <= GOALS['search_vs_bare'])}], "
            f"<= {GOALS['search_vs_bare']:.0f}x the bare API view "
            f"[{verdict(p95 / api_p95 <= GOALS['search_vs_bare'])}]"
        )
    search_p95, _ratio, ratio_api_p95 = ratios["search computed"]
    _cached_p95, cached_ratio, _cached_api_ratio = ratios["search cached"]

    print("\n== Free slots of one practitioner over four weeks (in-process)")
    now = timezone.now()
    ids = list(
        Practitioner.objects.proposable()
        .exclude(opening_hours=None)
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    )
    counts = []
    sizes = []

    def slots(index):
        with CaptureQueriesContext(connection) as captured:
            found = availability.slots_for(
                ids[index % len(ids)], start=now, end=now + timedelta(days=28)
            )
        counts.append(len(captured))
        sizes.append(len(found))

    slot_times, _rate = timed(slots, len(ids))
    slot_p95 = percentile(slot_times, 0.95)
    print(
        f"slots_for         {summary(slot_times)}   {statistics.mean(sizes):.0f} slots "
        f"on average, queries max {max(counts)}"
    )
    print(
        f"goal              <= {GOALS['slots_ms']:.0f} ms "
        f"[{verdict(slot_p95 <= GOALS['slots_ms'])} at p95], <= "
        f"{GOALS['slots_queries']} queries "
        f"[{verdict(max(counts) <= GOALS['slots_queries'])}]"
    )
    public_ids = dict(
        Practitioner.objects.filter(pk__in=ids).values_list("pk", "public_id")
    )
    until = (timezone.localdate() + timedelta(days=28)).isoformat()
    api_slot_times, _rate = timed(
        lambda i: client.get(
            f"/api/v1/specialists/{public_ids[ids[i % len(ids)]]}/slots/", {"to": until}
        ),
        100,
    )
    print(f"slots API         {summary(api_slot_times)}   (28 days, every kind)")

    print("\n== Precomputed next free slot (the periodic refresh, with bookings)")
    from specialists.services import refresh_availability

    sample = list(
        Practitioner.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    tick = time.perf_counter()
    refresh_availability(practitioner_ids=sample)
    per_thousand = time.perf_counter() - tick
    print(
        f"refresh           {per_thousand:.2f} s per 1,000 practitioners "
        f"(~{per_thousand * total / 1000:.0f} s for all {total}, every 15 minutes)"
    )

    print("\n== Sort by earliest availability in a city")

    def sorted_search(index):
        response = client.get(
            "/api/v1/specialists/",
            {
                "place": cities[index % len(cities)],
                "radius_km": 15,
                "ordering": "availability",
                "limit": 20,
            },
        )
        assert response.status_code == 200

    sorted_times, sorted_rate = timed(sorted_search, args.requests)
    sorted_p95 = percentile(sorted_times, 0.95)
    print(f"by availability   {summary(sorted_times)}   {sorted_rate:7.1f} req/s")
    print(
        f"goal              p95 <= {GOALS['sorted_p95_ms']:.0f} ms "
        f"[{verdict(sorted_p95 <= GOALS['sorted_p95_ms'])}]"
    )

    print("\n== Queries per list request (token auth included)")
    per_size = {}
    for size in (1, 20, 100):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(
                "/api/v1/specialists/",
                {"specialty": "general-practice", "place": "Paris", "limit": size},
            )
        own = sum("specialists_" in query["sql"] for query in captured)
        per_size[size] = (len(captured), own, len(response.json()["results"]))
    for size, (count, own, returned) in per_size.items():
        print(
            f"page size {size:>3}      {count} queries, {own} of them the directory's "
            f"({returned} results)"
        )
    worst = max(count for count, _own, _returned in per_size.values())
    constant = len({count for count, _own, _returned in per_size.values()}) == 1
    print(
        f"goal              constant [{verdict(constant)}], <= {GOALS['list_queries']} "
        f"[{verdict(worst <= GOALS['list_queries'])}]"
    )

    results = {
        "search_p95_ms": search_p95,
        "search_vs_bare": ratios["search computed"][1],
        "search_vs_bare_api": ratio_api_p95,
        "cached_vs_bare": cached_ratio,
        "slots_ms": slot_p95,
        "slots_queries": max(counts),
        "sorted_p95_ms": sorted_p95,
        "list_queries": worst,
    }
    missed = [name for name, value in results.items() if value > GOALS[name]]
    print("\n== Summary")
    for name, value in results.items():
        status = verdict(name not in missed)
        print(f"{name:<16} {value:8.2f}   goal <= {GOALS[name]:<6} {status}")
    if not constant:
        missed.append("list_queries_constant")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
