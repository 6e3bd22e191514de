"""SMS channel backends, chosen by the `SMS_BACKEND` setting.

Every backend takes the outbox row's key as an idempotency key, so that a retried
send after a crash cannot reach the patient twice at providers that honour it.
"""

import abc
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The message could not be handed to the provider."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str
    sender: str
    idempotency_key: str


class BaseSmsBackend(abc.ABC):
    @abc.abstractmethod
    def send(self, message: SmsMessage) -> str:
        """Hand the message over; return the provider's message id."""


class ConsoleSmsBackend(BaseSmsBackend):
    def send(self, message: SmsMessage) -> str:
        logger.info("SMS to %s from %s: %s", message.to, message.sender, message.body)
        return f"console-{message.idempotency_key}"


class LocmemSmsBackend(BaseSmsBackend):
    """Keeps messages in memory for tests (`LocmemSmsBackend.outbox`).

    Like a provider that honours idempotency keys, it delivers a key once: a
    repeated send answers the first id and only shows in `attempts`.
    """

    outbox: ClassVar[list[SmsMessage]] = []
    attempts: ClassVar[list[SmsMessage]] = []
    _ids: ClassVar[dict[str, str]] = {}

    @classmethod
    def reset(cls) -> None:
        cls.outbox.clear()
        cls.attempts.clear()
        cls._ids.clear()

    def send(self, message: SmsMessage) -> str:
        self.attempts.append(message)
        if message.idempotency_key not in self._ids:
            self.outbox.append(message)
            self._ids[message.idempotency_key] = f"locmem-{len(self.outbox)}"
        return self._ids[message.idempotency_key]


class FileSmsBackend(BaseSmsBackend):
    """One JSON file per message in `SMS_FILE_PATH`, for development.

    The file is named after the idempotency key, so a repeated send writes nothing.
    """

    def send(self, message: SmsMessage) -> str:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        message_id = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        path = folder / f"{message_id}.json"
        if not path.exists():
            record = {**message.__dict__, "sent_at": timezone.now().isoformat()}
            path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        return f"file-{message_id}"


class HttpSmsBackend(BaseSmsBackend):
    """A JSON-over-HTTPS SMS gateway: `POST {SMS_HTTP_URL}` with a bearer token.

    The body is `{"to", "from", "text"}`; the answer carries the provider's `id`.
    4xx answers are permanent failures (bad number), the rest are retried.
    """

    timeout = 10
    _session: ClassVar[requests.Session | None] = None
    _session_pid: ClassVar[int] = 0

    @classmethod
    def session(cls) -> requests.Session:
        """One keep-alive session per process (worker children fork after import)."""
        if cls._session is None or cls._session_pid != os.getpid():
            cls._session = requests.Session()
            cls._session_pid = os.getpid()
        return cls._session

    def send(self, message: SmsMessage) -> str:
        try:
            response = self.session().post(
                settings.SMS_HTTP_URL,
                json={"to": message.to, "from": message.sender, "text": message.body},
                headers={
                    "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
                    "Idempotency-Key": message.idempotency_key,
                },
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise SmsError(f"SMS provider unreachable: {error}") from error
        if response.status_code >= 400:
            raise SmsError(
                f"SMS provider answered {response.status_code}: {response.text[:200]}",
                transient=response.status_code >= 500 or response.status_code == 429,
            )
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError) as error:
            # Accepted but unreadable: retrying with the same key is safe.
            raise SmsError(f"SMS provider answer without an id: {error}") from error


def get_sms_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, to: str, body: str, idempotency_key: str) -> str:
    message = SmsMessage(
        to=to, body=body, sender=settings.SMS_SENDER, idempotency_key=idempotency_key
    )
    return get_sms_backend().send(message)
