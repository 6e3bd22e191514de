"""Local stand-ins for the SMS provider and the SMTP relay, recording by key.

Both behave like providers that honour idempotency: a message whose key (SMS
`Idempotency-Key`, email `Message-ID`) was already accepted is acknowledged again
but not delivered again. They keep every attempt too, so that tests can count
both what reached the wire and what reached the recipient.
"""

import contextlib
import email
import itertools
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeSmsProvider:
    """`POST /messages` with a bearer token and an Idempotency-Key, like a gateway."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.token = "sms-token"
        self.latency = latency
        self.lock = threading.Lock()
        self.attempts: list[dict] = []
        self.delivered: dict[str, dict] = {}
        self.answers: list[int] = []  # status codes to answer next, in order
        self.holding = False  # accept messages but hold the answers back
        self.held: list[str] = []
        self.released = threading.Event()
        self._ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/messages"

    def start(self) -> "FakeSmsProvider":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release_answers()
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *statuses: int) -> None:
        with self.lock:
            self.answers.extend(statuses)

    def hold_answers(self) -> None:
        """From now on, deliver but answer only once `release_answers` is called."""
        with self.lock:
            self.holding = True
            self.released.clear()

    def release_answers(self) -> None:
        with self.lock:
            self.holding = False
        self.released.set()

    def delivery_counts(self) -> Counter:
        """How many times each key reached the wire (the recipient gets it once)."""
        with self.lock:
            return Counter(attempt["key"] for attempt in self.attempts)

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: without this, Nagle and
            # delayed ACKs add 40 ms to every keep-alive request.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                return

            def _answer(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.headers.get("Authorization") != f"Bearer {provider.token}":
                    self._answer(401, {"error": "bad token"})
                    return
                key = self.headers.get("Idempotency-Key", "")
                if provider.latency:
                    time.sleep(provider.latency)
                with provider.lock:
                    provider.attempts.append({"key": key, **body})
                    status = provider.answers.pop(0) if provider.answers else 200
                    if status == 200:
                        known = provider.delivered.get(key)
                        if known is None:
                            known = {**body, "id": f"sms-{next(provider._ids)}"}
                            provider.delivered[key] = known
                        answer = {"id": known["id"]}
                    else:
                        answer = {"error": f"status {status}"}
                    holding = provider.holding
                    if holding:
                        provider.held.append(key)
                if holding:
                    # Accepted, but the answer is late: the sender is caught in the
                    # one window where it cannot know the SMS went out.
                    provider.released.wait(timeout=60)
                with contextlib.suppress(OSError):
                    self._answer(status, answer)

        return Handler


def message_id(message: email.message.Message) -> str:
    """The Message-ID header, unfolded."""
    return "".join(str(message["Message-ID"]).split())


class FakeSmtpServer:
    """An aiosmtpd relay that files messages by Message-ID (the outbox's key)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[email.message.Message] = []
        self.mailbox: dict[str, email.message.Message] = {}
        self.refuse_recipients: dict[str, str] = {}  # address -> SMTP reply
        self.data_replies: list[str] = []  # replies to the next DATA commands
        self.sessions = 0
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> "FakeSmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def restart(self) -> None:
        """Drop every open session, as a relay does with idle connections."""
        self.controller.stop()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def delivery_counts(self) -> Counter:
        with self.lock:
            return Counter(message_id(message) for message in self.received)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse_recipients.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.data_replies:
                return self.data_replies.pop(0)
            message = email.message_from_bytes(envelope.content)
            self.received.append(message)
            self.mailbox.setdefault(message_id(message), message)
        return "250 Message accepted for delivery"
