"""A task makes the round trip through Redis and a real worker process."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from conciergerie import celery_app
from conciergerie.tasks import ping

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def real_worker():
    """Start `celery worker` on the test broker; stop it after the test."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "conciergerie.settings_test"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "conciergerie",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield process
    finally:
        celery_app.conf.task_always_eager = eager
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.worker
def test_a_task_round_trips_through_redis_and_a_real_worker(real_worker):
    sent_at = time.time()

    result = ping.delay().get(timeout=60)

    assert real_worker.poll() is None, real_worker.stderr.read().decode()
    assert "pong" in result
    assert time.time() - sent_at < 60
