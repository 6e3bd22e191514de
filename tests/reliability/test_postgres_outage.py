"""PostgreSQL lost under a running application, then back, without restarting it.

A small TCP proxy stands between a real gunicorn (persistent connections and
CONN_HEALTH_CHECKS as in production) and PostgreSQL. Cutting the proxy closes
every open connection and refuses new ones, as a database restart or fail-over
does. Meanwhile pages that need the database answer a clean 503 (the outage page,
with Retry-After; the API its JSON error) while directory searches already in the
cache still answer, `/readyz` names the database, `/healthz` stays up; once the
proxy lets connections through again, the same processes answer 200.
"""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.notifications.fakes import free_port

ROOT = Path(__file__).resolve().parents[2]


class CuttableProxy:
    """Forwards loopback connections to PostgreSQL until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.open = True
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()  # as a server that is down: the connection drops
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(source, sink), daemon=True
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # the other direction closed it, or the proxy was cut
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def cut(self) -> None:
        self.open = False
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for end in sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def restore(self) -> None:
        self.open = True

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        self._listener.close()


def _get(url: str, **headers: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def served_through_proxy(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        db = connection.settings_dict
        target = (db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
        # pytest-django renames the test database in the settings it builds it from.
        name, user = settings.DATABASES["default"]["NAME"], db["USER"]
    proxy = CuttableProxy(target)
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "conciergerie.settings_test",
        "DATABASE_URL": f"postgres://{user}@127.0.0.1:{proxy.port}/{name}",
        "DJANGO_CONN_MAX_AGE": "600",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "conciergerie.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                if _get(f"{base}/healthz")[0] == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base, proxy, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        proxy.stop()


# The mark makes pytest-django prepare the test database the server points at.
@pytest.mark.django_db
def test_requests_fail_cleanly_then_recover_without_a_restart(served_through_proxy):
    base, proxy, server = served_through_proxy
    ready = _get(f"{base}/readyz")
    assert ready[0] == 200, ready[2]
    assert _get(f"{base}/specialists/")[0] == 200

    proxy.cut()

    # A search asked before the outage is still answered from the cache; a new
    # one needs the database.
    assert _get(f"{base}/specialists/")[0] == 200
    status, headers, body = _get(f"{base}/specialists/?q=cardiologue")
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert b"Traceback" not in body
    assert b"<h1>" in body
    # A partner's token is looked up in the database.
    status, _headers, body = _get(
        f"{base}/api/v1/specialists/", Authorization="Bearer partner-token"
    )
    assert status == 503
    assert b'"service_unavailable"' in body
    status, _headers, body = _get(f"{base}/readyz")
    assert status == 503
    assert b'"database": "error: ' in body
    assert _get(f"{base}/healthz")[0] == 200

    proxy.restore()

    # The same gunicorn process, never restarted, finds the database again.
    pages = ["/readyz", "/specialists/?q=cardiologue"]
    statuses = {page: _get(f"{base}{page}")[0] for page in pages}
    assert statuses == dict.fromkeys(pages, 200)
    assert server.poll() is None
