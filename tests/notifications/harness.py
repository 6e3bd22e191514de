"""Real processes for the reliability proof and the benchmark: a private Redis
server and Celery workers, started and stopped by the test itself."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from django.db import connection

from conciergerie import celery_app
from tests.notifications.fakes import free_port

ROOT = Path(__file__).resolve().parents[2]


class OwnRedis:
    """A throw-away redis-server on a free port: restarting it disturbs nobody."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "OwnRedis":
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def crash(self) -> None:
        """SIGKILL: whatever the broker held (queued tasks, unacked ones) is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.crash()
        self.start()
        self.restarts += 1

    def queue_length(self) -> int:
        return redis.Redis(port=self.port).llen("celery")


class Worker:
    """`celery worker` in its own process group, killed with -9 when asked."""

    def __init__(self, env: dict[str, str], *, concurrency: int = 2) -> None:
        self.env = env
        self.concurrency = concurrency
        self.restarts = 0
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept for the test
            prefix="celery-worker-", suffix=".log", delete=False
        )

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "conciergerie",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(self.concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"proof-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def has_exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def supervise(self, *, most: int = 3) -> None:
        """Start the worker again if it exited, as its container would.

        A worker can give up on a broker that vanished under it (kombu fails to
        rebuild its channel) and exit; in production the container restarts it.
        """
        if not self.has_exited():
            return
        crashed_output = self.output()
        self.stop()
        self.restarts += 1
        assert self.restarts <= most, crashed_output
        self.start()

    def kill(self) -> None:
        """kill -9 the worker and its pool children, mid-task or not."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:  # the whole group has already exited
            self.process = None
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]


def worker_environment(*, broker: str, sms_url: str, sms_token: str, smtp_port: int):
    """The environment of a worker using this test database and the fakes."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.notifications.worker_settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SMS_BACKEND": "conciergerie.notifications.backends.HttpSmsBackend",
        "SMS_HTTP_URL": sms_url,
        "SMS_HTTP_TOKEN": sms_token,
    }


@contextlib.contextmanager
def publishing_to(broker: str):
    """Make this process enqueue real tasks on `broker` instead of running them."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.result_backend, conf.task_always_eager)

    def reset_pools() -> None:
        celery_app._pool = None
        with contextlib.suppress(AttributeError, KeyError):
            celery_app.__dict__["amqp"]._producer_pool = None

    conf.broker_url, conf.result_backend, conf.task_always_eager = broker, broker, False
    reset_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.result_backend, conf.task_always_eager = saved
        reset_pools()
