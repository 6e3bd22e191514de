"""Channels: how a message of the outbox is checked, rendered and handed over.

A channel knows its recipients (an email address, an E.164 number), its templates
(files named after the message's template) and its backend. Email and SMS are built
in; another app adds one (partner webhooks) by subclassing `BaseChannel` and calling
`register_channel("webhook", WebhookChannel())` from its `AppConfig.ready()`.

Template files, for a message whose template is `appointments/reminder`:

- email: `appointments/reminder.subject.txt`, `appointments/reminder.txt` and,
  optionally, `appointments/reminder.html` (the HTML alternative);
- sms: `appointments/reminder.sms.txt`.

They are rendered in the message's language, with its context plus `service_name`,
`service_phone` and `site_url`. Plain-text files are rendered without HTML
escaping. Contexts and texts never carry medical details.
"""

import abc
import contextlib
import hashlib
import os
import re
import smtplib
import threading
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.translation import gettext_lazy as _

from . import backends
from .models import Channel
from .sms import normalize_sms, sms_length

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class DeliveryError(Exception):
    """A message could not be handed over.

    `transient` errors (provider unreachable, rate limited, 4xx SMTP replies) are
    retried with backoff; the others (refused recipient, broken template) fail the
    message at once. `code` is stable and shown in the admin.
    """

    def __init__(self, message: str, *, code: str, transient: bool) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


@dataclass(frozen=True)
class Rendered:
    """A message ready to go: `subject` and `html` are empty for SMS."""

    text: str
    subject: str = ""
    html: str = ""


def _base_context() -> dict[str, Any]:
    return {
        "service_name": settings.SERVICE_NAME,
        "service_phone": settings.SERVICE_PHONE,
        "site_url": settings.SITE_URL,
    }


def render_text(name: str, context: dict[str, Any]) -> str:
    """Render a plain-text template file without HTML escaping."""
    template = get_template(name)
    return template.template.render(  # type: ignore[attr-defined]
        Context({**_base_context(), **context}, autoescape=False)
    )


def render_html(name: str, context: dict[str, Any]) -> str:
    return get_template(name).render({**_base_context(), **context})


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a message gets, and the backoff between them."""

    max_attempts: int
    base_seconds: int
    max_seconds: int


class BaseChannel(abc.ABC):
    """One way of reaching people; instances are shared, hence stateless."""

    #: Template files this channel needs, as suffixes of the template name.
    required_suffixes: ClassVar[tuple[str, ...]] = ()

    def retry_policy(self) -> RetryPolicy:
        """Attempts and backoff of transient failures: the NOTIFICATIONS_* settings.

        A channel whose recipients expect longer retries (partner webhooks: about
        three days) overrides this.
        """
        return RetryPolicy(
            max_attempts=settings.NOTIFICATIONS_MAX_ATTEMPTS,
            base_seconds=settings.NOTIFICATIONS_RETRY_BASE_SECONDS,
            max_seconds=settings.NOTIFICATIONS_RETRY_MAX_SECONDS,
        )

    @abc.abstractmethod
    def validate_recipient(self, to: str) -> None:
        """Raise `ValidationError(code="invalid_recipient")` for a bad address."""

    @abc.abstractmethod
    def render(self, *, template: str, context: dict[str, Any]) -> Rendered:
        """Render the message (the caller has activated its language)."""

    @abc.abstractmethod
    def deliver(self, *, to: str, rendered: Rendered, idempotency_key: str) -> str:
        """Hand the message over; return the provider's id or raise DeliveryError.

        The provider must receive `idempotency_key`: the same key twice must not
        reach the recipient twice (see docs/notifications.md).
        """

    def validate_template(self, template: str) -> None:
        """Raise `ValidationError(code="unknown_template")` if a file is missing."""
        for suffix in self.required_suffixes:
            try:
                get_template(f"{template}{suffix}")
            except TemplateDoesNotExist as error:
                raise ValidationError(
                    _("The template %(name)s does not exist."),
                    code="unknown_template",
                    params={"name": f"{template}{suffix}"},
                ) from error


class EmailChannel(BaseChannel):
    """Email through Django's email backend (SMTP, or a provider via anymail)."""

    required_suffixes = (".subject.txt", ".txt")

    def validate_recipient(self, to: str) -> None:
        try:
            validate_email(to)
        except ValidationError as error:
            raise ValidationError(
                _("Enter a valid email address."), code="invalid_recipient"
            ) from error

    def render(self, *, template: str, context: dict[str, Any]) -> Rendered:
        subject = " ".join(render_text(f"{template}.subject.txt", context).split())
        text = render_text(f"{template}.txt", context).strip() + "\n"
        try:
            html = render_html(f"{template}.html", context)
        except TemplateDoesNotExist:
            html = ""
        return Rendered(text=text, subject=subject, html=html)

    @staticmethod
    def message_id(idempotency_key: str) -> str:
        """A Message-ID derived from the key: the same message, the same id.

        Receiving servers and mail providers that de-duplicate do it on this
        header; the key is hashed so that it never shows in mail headers.
        """
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
        return f"<{digest}.outbox@{domain or 'conciergerie.local'}>"

    def deliver(self, *, to: str, rendered: Rendered, idempotency_key: str) -> str:
        message_id = self.message_id(idempotency_key)
        email = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={
                "Message-ID": message_id,
                "Idempotency-Key": message_id.strip("<>").split("@")[0],
                "Auto-Submitted": "auto-generated",
            },
        )
        if rendered.html:
            email.attach_alternative(rendered.html, "text/html")
        try:
            _send_on_kept_connection(email)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _reply in error.recipients.values()]
            raise DeliveryError(
                f"Recipient refused: {codes}",
                code="recipient_refused",
                transient=all(400 <= code < 500 for code in codes),
            ) from error
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(
                f"SMTP server answered {error.smtp_code}: {error.smtp_error!r}",
                code=f"smtp_{error.smtp_code}",
                transient=error.smtp_code < 500,
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"SMTP server unreachable: {error}",
                code="smtp_unavailable",
                transient=True,
            ) from error
        return message_id


# Opening an SMTP session (TCP, EHLO, STARTTLS, AUTH) costs more round trips than
# sending one message: each worker process keeps one open between messages.
_kept = threading.local()


def _mail_connection() -> tuple[Any, bool]:
    """The kept connection for the current settings, and whether it was re-used."""
    key = (
        os.getpid(),
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
    )
    kept = getattr(_kept, "mail", None)
    if kept is not None and kept[0] == key:
        return kept[1], True
    _drop_mail_connection()
    connection = get_connection()
    connection.open()
    _kept.mail = (key, connection)
    return connection, False


def _drop_mail_connection() -> None:
    kept, _kept.mail = getattr(_kept, "mail", None), None
    # A connection inherited through fork belongs to the parent: leave it be.
    if kept is not None and kept[0][0] == os.getpid():
        with contextlib.suppress(Exception):
            kept[1].close()


def _send_on_kept_connection(email: EmailMultiAlternatives) -> None:
    email.connection, reused = _mail_connection()
    try:
        email.send()
        return
    except (smtplib.SMTPServerDisconnected, ConnectionError):
        _drop_mail_connection()
        if not reused:
            raise
    except Exception:
        _drop_mail_connection()
        raise
    # The relay had closed the idle connection before this message: the message
    # never went out, so it goes once more, on a fresh connection.
    email.connection, _reused = _mail_connection()
    try:
        email.send()
    except Exception:
        _drop_mail_connection()
        raise


class SmsChannel(BaseChannel):
    """SMS through the backend named by the `SMS_BACKEND` setting."""

    required_suffixes = (".sms.txt",)

    def validate_recipient(self, to: str) -> None:
        if not E164.match(to):
            raise ValidationError(
                _("Enter a phone number in international format, e.g. +33612345678."),
                code="invalid_recipient",
            )

    def render(self, *, template: str, context: dict[str, Any]) -> Rendered:
        text = normalize_sms(render_text(f"{template}.sms.txt", context))
        length = sms_length(text)
        limit = settings.NOTIFICATIONS_SMS_MAX_SEGMENTS
        if length.segments > limit:
            # A cut text could lose its time or its cancel link: fail visibly, so
            # that the template (or its context) gets shorter.
            raise DeliveryError(
                f"The text needs {length.segments} {length.encoding} segments "
                f"({length.units} units); the limit is {limit}.",
                code="sms_too_long",
                transient=False,
            )
        return Rendered(text=text)

    def deliver(self, *, to: str, rendered: Rendered, idempotency_key: str) -> str:
        try:
            return backends.send_sms(
                to=to, body=rendered.text, idempotency_key=idempotency_key
            )
        except backends.SmsError as error:
            raise DeliveryError(
                str(error),
                code="sms_transient" if error.transient else "sms_refused",
                transient=error.transient,
            ) from error


_registry: dict[str, BaseChannel] = {
    Channel.EMAIL: EmailChannel(),
    Channel.SMS: SmsChannel(),
}


def register_channel(name: str, channel: BaseChannel) -> None:
    """Make `name` a channel of the outbox (at start-up, from `AppConfig.ready`)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,19}", name):
        raise ValueError(f"Invalid channel name: {name!r}")
    _registry[name] = channel


def get_channel(name: str) -> BaseChannel:
    try:
        return _registry[name]
    except KeyError:
        raise ValidationError(
            _("Unknown channel %(channel)s."),
            code="unknown_channel",
            params={"channel": name},
        ) from None


def channel_names() -> list[str]:
    return sorted(_registry)
