"""Load scenario: portal pages, directory search, slots and booking, against real
gunicorn workers, PostgreSQL and Redis, with a bare Django view measured in the
same run.

    make load
    LOAD_SECONDS=60 LOAD_CLIENTS=16 LOAD_WORKERS=3 .venv/bin/python bench/load/run.py

1. Set-up: its own database (conciergerie_load, created and migrated here), ten
   practitioners open every day, a partner clinic with a token and fifty referred
   patients, and the free slots the bookings will take (one each, never twice).
2. gunicorn (`LOAD_WORKERS` sync workers, loopback) with bench/load/settings.py:
   production's cache on Redis, tasks published to Redis, keys of the tests.
3. Baseline: `LOAD_CLIENTS` clients ask `/healthz` (a bare view behind the whole
   middleware stack) for `LOAD_SECONDS` seconds.
4. Mixed load, the same clients for the same time: the home page, the directory
   page with a search, a practitioner's page, the API's directory search, its free
   slots, and bookings through `POST /api/v1/appointments/`.

It prints throughput, p50/p95/p99 and errors per kind and overall, writes them
to bench/load/results.json and draws docs/performance-load.svg. Goal on two cores:
the API share of the mix at >= 150 requests/s with p95 <= 150 ms and 0 errors.
"""

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATABASE_NAME = "conciergerie_load"
SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "12"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "3"))
GOALS = {"api_requests_per_second": 150.0, "api_p95_ms": 150.0, "errors": 0}
#: Share of each kind of request in the mix.
MIX = {
    "portal home": 5,
    "portal directory search": 10,
    "portal practitioner page": 5,
    "api directory search": 30,
    "api free slots": 35,
    "api booking": 15,
}


def configure() -> dict[str, str]:
    base = os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/conciergerie"
    )
    parts = urlsplit(base)
    database_url = urlunsplit(parts._replace(path=f"/{DATABASE_NAME}"))
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "conciergerie.settings_test"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

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
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return {"DATABASE_URL": database_url, "REDIS_URL": os.environ["REDIS_URL"]}


def seed(bookings: int) -> dict:
    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    from appointments.models import Appointment
    from conciergerie.notifications.models import Message
    from tests.appointments.factories import free_slots, open_practitioner
    from tests.factories import ApplicationFactory, UserFactory
    from tests.patients.factories import PatientFactory
    from tests.specialists.factories import PractitionerFactory

    # Each run adds its own practitioners and patients beside the earlier runs':
    # their numbers (RPPS, e-mail addresses) start at this run's microsecond, so
    # that two runs' ranges (a few hundred numbers each) never meet.
    start = time.time_ns() // 1000 % 1_000_000_000
    for factory_class in (PractitionerFactory, PatientFactory, UserFactory):
        factory_class.reset_sequence(start)
    # Bookings of earlier runs would take the slots of this one.
    Appointment.objects.all().delete()
    Message.objects.all().delete()
    application = ApplicationFactory(name=f"Load clinic {time.time_ns()}")
    token = f"load-{time.time_ns()}"
    AccessToken.objects.create(
        application=application,
        token=token,
        scope="appointments:read appointments:write specialists:read",
        expires=timezone.now() + timedelta(hours=2),
    )
    practitioners = [open_practitioner(specialties=("cardiology",)) for _ in range(10)]
    patients = [
        PatientFactory(referred_by=application.user, consented=True) for _ in range(50)
    ]
    after = timezone.now() + timedelta(days=3)
    slots = []
    for practitioner in practitioners:
        slots += [
            {
                "practitioner": str(practitioner.public_id),
                "kind": slot.kind,
                "starts_at": slot.starts_at.isoformat(),
            }
            for slot in free_slots(practitioner, after=after, days=60)[::2]
        ]
    random.Random(7).shuffle(slots)  # noqa: S311 - an order of slots, no secret
    assert len(slots) >= bookings, f"{len(slots)} free slots for {bookings} bookings"
    return {
        "token": token,
        "practitioners": [str(p.public_id) for p in practitioners],
        "patients": [p.reference for p in patients],
        "slots": slots,
    }


# --- A small HTTP/1.1 client: gunicorn's sync workers close after each answer ---


class Target:
    def __init__(self, port: int) -> None:
        self.port = port

    async def call(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, float]:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(
            (
                f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Connection: close\r\n{head}Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        answer = await reader.read()
        writer.close()
        elapsed = (time.perf_counter() - started) * 1000
        return int(answer[9:12] or 0), elapsed


def requests_for(world: dict):
    """An endless, seeded sequence of (kind, method, path, headers, body, ok)."""
    rng = random.Random(11)  # noqa: S311 - a repeatable mix, no secret
    kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
    api = {"Authorization": f"Bearer {world['token']}"}
    # One iterator for the whole run: the warm-up's bookings take their slots too.
    slots = world.setdefault("free", iter(world["slots"]))
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400))
    while True:
        kind = rng.choice(kinds)
        practitioner = rng.choice(world["practitioners"])
        if kind == "portal home":
            yield kind, "GET", "/", {}, b"", {200}
        elif kind == "portal directory search":
            yield kind, "GET", "/specialists/?q=cardiologue", {}, b"", {200}
        elif kind == "portal practitioner page":
            yield kind, "GET", f"/specialists/{practitioner}/", {}, b"", {200}
        elif kind == "api directory search":
            path = "/api/v1/specialists/?specialty=cardiology"
            yield kind, "GET", path, api, b"", {200}
        elif kind == "api free slots":
            path = f"/api/v1/specialists/{practitioner}/slots/?from={day}"
            yield kind, "GET", path, api, b"", {200}
        else:
            slot = next(slots)
            body = json.dumps({**slot, "patient": rng.choice(world["patients"])})
            headers = {**api, "Content-Type": "application/json"}
            yield kind, "POST", "/api/v1/appointments/", headers, body.encode(), {201}


async def drive(target: Target, sequence, seconds: float) -> list[tuple]:
    """`CLIENTS` closed-loop clients for `seconds`; every answer recorded."""
    results: list[tuple] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            kind, method, path, headers, body, ok = next(sequence)
            try:
                status, elapsed = await target.call(method, path, headers, body)
            except OSError:
                status, elapsed = 0, 0.0
            results.append((kind, status in ok, elapsed, status))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    results.append(("__elapsed__", True, time.perf_counter() - started, 0))
    return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def figures(rows: list[tuple], elapsed: float) -> dict:
    latencies = [row[2] for row in rows]
    errors = [row for row in rows if not row[1]]
    return {
        "requests": len(rows),
        "requests_per_second": round(len(rows) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "errors": len(errors),
        "error_statuses": sorted({row[3] for row in errors}),
    }


def summarise(results: list[tuple]) -> dict:
    elapsed = results.pop()[2]
    report = {"all": figures(results, elapsed)}
    api = [row for row in results if row[0].startswith("api")]
    if api:
        report["api share"] = figures(api, elapsed)
    for kind in sorted({row[0] for row in results}):
        report[kind] = figures([row for row in results if row[0] == kind], elapsed)
    return report


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "conciergerie.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--backlog",
            "256",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.load.settings",
            "DJANGO_CONN_MAX_AGE": "600",
            "PYTHONPATH": str(ROOT),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    target = Target(port)
    for _ in range(300):
        try:
            status, _elapsed = asyncio.run(target.call("GET", "/healthz", {}))
            if status == 200:
                return process
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def chart(report: dict, baseline: dict, path: Path) -> None:
    """A bar chart of p50 and p95 per kind of request, the baseline first."""
    rows = [("bare view (/healthz)", baseline["all"])] + [
        (kind, values)
        for kind, values in report.items()
        if kind not in ("all", "api share")
    ]
    scale = max(values["p95_ms"] for _kind, values in rows) or 1.0
    width, left, bar = 760, 220, 14
    height = 40 + len(rows) * 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="10" y="20" font-size="14">Latency under mixed load '
        f"({report['all']['requests_per_second']} req/s, {CLIENTS} clients, "
        f"{WORKERS} workers): p50 dark, p95 light, ms</text>",
    ]
    for index, (kind, values) in enumerate(rows):
        y = 40 + index * 40
        for offset, key, colour in (
            (0, "p50_ms", "#1f4e79"),
            (bar, "p95_ms", "#9dc3e6"),
        ):
            length = (width - left - 80) * values[key] / scale
            parts.append(
                f'<rect x="{left}" y="{y + offset}" width="{length:.1f}" '
                f'height="{bar - 2}" fill="{colour}"/>'
                f'<text x="{left + length + 4:.1f}" y="{y + offset + 11}">'
                f"{values[key]}</text>"
            )
        parts.append(f'<text x="10" y="{y + 18}">{kind}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def main() -> int:
    env = configure()
    bookings_bound = int(SECONDS * 400 * MIX["api booking"] / sum(MIX.values())) + 100
    world = seed(bookings_bound)
    from tests.notifications.fakes import free_port

    port = free_port()
    server = start_gunicorn(env, port)
    target = Target(port)
    try:
        baseline_sequence = iter(
            lambda: ("bare view", "GET", "/healthz", {}, b"", {200}), None
        )
        # Warm-up: every worker opens its connections and fills its caches.
        asyncio.run(drive(target, requests_for(world), 3))
        baseline = summarise(asyncio.run(drive(target, baseline_sequence, SECONDS)))
        report = summarise(asyncio.run(drive(target, requests_for(world), SECONDS)))
    finally:
        server.terminate()
        server.wait(timeout=30)

    api = report["api share"]
    ok = (
        api["requests_per_second"] >= GOALS["api_requests_per_second"]
        and api["p95_ms"] <= GOALS["api_p95_ms"]
        and report["all"]["errors"] == GOALS["errors"]
    )
    print(f"Load: {SECONDS:.0f} s, {CLIENTS} clients, {WORKERS} gunicorn workers")
    print(f"  {'':<28} {'req/s':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'errors':>7}")
    for name, values in [("bare view (/healthz)", baseline["all"]), *report.items()]:
        print(
            f"  {name:<28} {values['requests_per_second']:>8} {values['p50_ms']:>8}"
            f" {values['p95_ms']:>8} {values['p99_ms']:>8} {values['errors']:>7}"
        )
    ratio = api["p95_ms"] / max(baseline["all"]["p95_ms"], 0.1)
    print(f"  API p95 / bare view p95: {ratio:.1f}x")
    verdict = "met" if ok else "NOT met"
    print(f"  goal (API >= 150 req/s, p95 <= 150 ms, 0 errors): {verdict}")
    results = {
        "seconds": SECONDS,
        "clients": CLIENTS,
        "workers": WORKERS,
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "baseline": baseline["all"],
        "mixed": report,
        "api_p95_over_bare_p95": round(ratio, 2),
        "goal_met": ok,
    }
    (ROOT / "bench" / "load" / "results.json").write_text(
        json.dumps(results, indent=2) + "\n"
    )
    chart(report, baseline, ROOT / "docs" / "performance-load.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
