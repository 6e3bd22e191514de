"""SMS channel backends, chosen by the `SMS_BACKEND` setting.

Every backend takes the outbox row's key as an idempotency key, so that a retried
send after a crash cannot reach the patient twice at providers that honour it.
"""

import abc
import json
import logging
import uuid
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
    """Keeps messages in memory for tests (`LocmemSmsBackend.outbox`)."""

    outbox: ClassVar[list[SmsMessage]] = []

    def send(self, message: SmsMessage) -> str:
        self.outbox.append(message)
        return f"locmem-{len(self.outbox)}"


class FileSmsBackend(BaseSmsBackend):
    """One JSON file per message in `SMS_FILE_PATH`, for development."""

    def send(self, message: SmsMessage) -> str:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        message_id = uuid.uuid4().hex
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        (folder / f"{stamp}-{message_id}.json").write_text(
            json.dumps(message.__dict__, ensure_ascii=False), encoding="utf-8"
        )
        return f"file-{message_id}"


class HttpSmsBackend(BaseSmsBackend):
    """A JSON-over-HTTPS SMS gateway: `POST {SMS_HTTP_URL}` with a bearer token.

    The body is `{"to", "from", "text"}`; the answer carries the provider's `id`.
    4xx answers are permanent failures (bad number), the rest are retried.
    """

    timeout = 10

    def send(self, message: SmsMessage) -> str:
        try:
            response = requests.post(
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
        return str(response.json().get("id", ""))


def get_sms_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, to: str, body: str, idempotency_key: str) -> str:
    message = SmsMessage(
        to=to, body=body, sender=settings.SMS_SENDER, idempotency_key=idempotency_key
    )
    return get_sms_backend().send(message)
