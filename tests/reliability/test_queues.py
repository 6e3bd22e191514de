"""Work is split into queues per kind, and every way of running workers consumes them.

A task routed to a queue that no worker reads would wait forever: the routes of the
production settings, the Procfile, the compose file and the Kubernetes manifests
are checked against each other here.
"""

import fnmatch
import importlib
import re
from pathlib import Path

import yaml

from conciergerie import celery_app

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"notifications", "reminders", "pdf", "webhooks"}


def _production_routes() -> dict[str, dict[str, str]]:
    # The test settings switch routing off for test workers; production's stays.
    return importlib.import_module("conciergerie.settings").CELERY_TASK_ROUTES


def _routed_queues() -> set[str]:
    return {route["queue"] for route in _production_routes().values()}


def _queues_of(command: str) -> set[str]:
    match = re.search(r"-Q\s+\S*?([a-z,]+)\}?\"?$", command.strip())
    assert match, command
    return set(match.group(1).split(","))


def test_each_kind_of_work_has_its_own_queue():
    assert _routed_queues() == KINDS


def test_every_route_names_a_real_task():
    celery_app.loader.import_default_modules()
    names = [name for name in celery_app.tasks if not name.startswith("celery.")]
    for pattern in _production_routes():
        assert fnmatch.filter(names, pattern), pattern


def test_outbox_messages_and_partner_webhooks_do_not_share_a_queue():
    routes = _production_routes()
    assert routes["conciergerie.notifications.tasks.*"]["queue"] == "notifications"
    assert routes["billing.tasks.send_invoice_email"]["queue"] == "pdf"
    assert routes["patients.tasks.announce_care_request_event"]["queue"] == "webhooks"


def test_the_procfile_worker_consumes_every_queue():
    lines = dict(
        line.split(":", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip()
    )
    assert _queues_of(lines["worker"]) >= _routed_queues() | {"celery"}


def test_compose_workers_scale_and_consume_every_queue():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    worker = compose["services"]["worker"]
    # `--scale worker=3` fails on a fixed container name or a published port.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert _queues_of(worker["command"]) >= _routed_queues() | {"celery"}


def test_kubernetes_workers_consume_every_queue():
    documents = yaml.safe_load_all(
        (ROOT / "deploy" / "kubernetes" / "conciergerie.yaml").read_text()
    )
    workers = [
        doc
        for doc in documents
        if doc and doc["kind"] == "Deployment" and "worker" in doc["metadata"]["name"]
    ]
    assert workers
    queues: set[str] = set()
    for worker in workers:
        args = worker["spec"]["template"]["spec"]["containers"][0]["args"]
        queues |= set(args[args.index("-Q") + 1].split(","))
    assert queues >= _routed_queues() | {"celery"}
