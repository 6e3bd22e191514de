"""The channels against real local servers: an HTTP SMS gateway and an SMTP relay."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conciergerie.notifications import backends, channels, services
from conciergerie.notifications.channels import EmailChannel
from conciergerie.notifications.models import Message
from tests.notifications.factories import schedule
from tests.notifications.fakes import free_port

pytestmark = pytest.mark.django_db

State = Message.State


def send_due(**overrides) -> Message:
    message = schedule(due_at=timezone.now() - timedelta(seconds=1), **overrides)
    return services.send_message(message_id=message.pk)


# --- SMS over HTTP --------------------------------------------------------------


def test_the_http_backend_posts_the_text_with_token_and_idempotency_key(fake_sms):
    message = send_due(language="en")

    [attempt] = fake_sms.attempts
    assert attempt["key"] == message.key
    assert attempt["to"] == "+33612345678"
    assert attempt["from"] == "CONCIERGE"
    assert attempt["text"].startswith("Conciergerie: you have a new message")
    assert "https://example.fr/m/1" in attempt["text"]
    assert message.state == State.SENT
    assert message.provider_id == fake_sms.delivered[message.key]["id"]


def test_the_same_key_sent_twice_answers_the_same_id_and_one_sms(fake_sms, settings):
    sms = backends.SmsMessage(
        to="+33612345678", body="Bonjour", sender="CONCIERGE", idempotency_key="k:1"
    )

    first = backends.HttpSmsBackend().send(sms)
    second = backends.HttpSmsBackend().send(sms)

    assert first == second
    assert len(fake_sms.attempts) == 2
    assert len(fake_sms.delivered) == 1


@pytest.mark.parametrize(
    ("status", "transient"), [(500, True), (503, True), (429, True), (400, False)]
)
def test_provider_errors_are_transient_or_permanent_by_status(
    fake_sms, status, transient
):
    fake_sms.fail_next(status)
    sms = backends.SmsMessage(
        to="+33612345678", body="Bonjour", sender="CONCIERGE", idempotency_key="k:2"
    )

    with pytest.raises(backends.SmsError) as caught:
        backends.HttpSmsBackend().send(sms)

    assert caught.value.transient is transient


def test_a_wrong_token_is_a_permanent_failure(fake_sms, settings):
    settings.SMS_HTTP_TOKEN = "wrong"

    message = send_due()

    assert message.state == State.FAILED
    assert message.error_code == "sms_refused"
    assert "401" in message.last_error


def test_an_unreachable_gateway_is_retried(settings):
    settings.SMS_BACKEND = "conciergerie.notifications.backends.HttpSmsBackend"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{free_port()}/messages"

    message = send_due()

    assert message.state == State.PENDING
    assert message.error_code == "sms_transient"
    assert "unreachable" in message.last_error


def test_the_file_backend_writes_one_file_per_key(settings, tmp_path):
    settings.SMS_BACKEND = "conciergerie.notifications.backends.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    sms = backends.SmsMessage(
        to="+33612345678", body="Bonjour", sender="CONCIERGE", idempotency_key="k:3"
    )

    first = backends.send_sms(to=sms.to, body=sms.body, idempotency_key="k:3")
    second = backends.send_sms(to=sms.to, body=sms.body, idempotency_key="k:3")

    [path] = tmp_path.iterdir()
    assert first == second
    assert json.loads(path.read_text())["body"] == "Bonjour"


# --- Email over SMTP ------------------------------------------------------------


def test_an_email_goes_through_smtp_with_text_and_html_in_its_language(fake_smtp):
    message = send_due(channel="email", language="fr")

    [mail] = fake_smtp.received
    assert message.state == State.SENT
    assert mail["To"] == "camille.petit@example.fr"
    assert mail["Subject"] == "Conciergerie : vous avez un nouveau message"
    assert mail["Message-ID"] == EmailChannel.message_id(message.key)
    assert message.provider_id == mail["Message-ID"]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert message.key not in mail.as_string()  # only its hash travels
    parts = {part.get_content_type(): part for part in mail.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert text.startswith("Bonjour Camille,")
    assert '<a class="button" href="https://example.fr/m/1">Lire le message</a>' in html


def test_the_same_message_in_english_reads_english(fake_smtp):
    send_due(channel="email", language="en")

    [mail] = fake_smtp.received
    assert mail["Subject"] == "Conciergerie: you have a new message"


def test_a_refused_recipient_fails_at_once(fake_smtp):
    fake_smtp.refuse_recipients["nobody@example.fr"] = "550 No such user"

    message = send_due(channel="email", to="nobody@example.fr")

    assert message.state == State.FAILED
    assert message.error_code == "recipient_refused"
    assert fake_smtp.received == []


def test_a_temporary_smtp_refusal_is_retried(fake_smtp):
    fake_smtp.data_replies.append("451 Greylisted, try again later")

    message = send_due(channel="email")

    assert message.state == State.PENDING
    assert message.error_code == "smtp_451"
    assert message.attempts == 1


def test_an_unreachable_smtp_server_is_retried(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_TIMEOUT = 2

    message = send_due(channel="email")

    assert message.state == State.PENDING
    assert message.error_code == "smtp_unavailable"


def test_consecutive_emails_share_one_smtp_session(fake_smtp):
    for _ in range(3):
        send_due(channel="email")

    assert len(fake_smtp.received) == 3
    assert fake_smtp.sessions == 1


def test_an_idle_connection_closed_by_the_relay_is_reopened_at_once(fake_smtp):
    first = send_due(channel="email")
    fake_smtp.restart()

    second = send_due(channel="email")

    assert (first.state, second.state) == (State.SENT, State.SENT)
    assert second.attempts == 1
    assert len(fake_smtp.mailbox) == 2
    assert fake_smtp.sessions == 2


def test_the_same_email_twice_lands_once_in_a_deduplicating_mailbox(fake_smtp):
    rendered = services.render_message(
        channel="email",
        template="notifications/notice",
        context={},
        language="fr",
    )

    for _ in range(2):
        EmailChannel().deliver(
            to="camille.petit@example.fr", rendered=rendered, idempotency_key="k:4"
        )

    assert len(fake_smtp.received) == 2
    assert len(fake_smtp.mailbox) == 1


# --- Templates ------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_notice_sms_fits_one_gsm7_segment_even_with_a_long_link(language):
    from conciergerie.notifications.sms import sms_length

    rendered = services.render_message(
        channel="sms",
        template="notifications/notice",
        context={"link": "https://conciergerie.example.fr/espace/messages/12345/"},
        language=language,
    )

    length = sms_length(rendered.text)
    assert length.encoding == "GSM-7"
    assert length.segments == 1


def test_dates_stored_in_the_context_are_shown_in_paris_time(settings, tmp_path):
    (tmp_path / "when.sms.txt").write_text(
        '{% load outbox %}{{ at|as_datetime|date:"H:i" }}', encoding="utf-8"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]

    rendered = services.render_message(
        channel="sms",
        template="when",
        context={"at": "2026-07-01T08:30:00+00:00"},
        language="fr",
    )

    assert rendered.text == "10:30"


# --- Another app's channel ------------------------------------------------------


class RecordingChannel(channels.BaseChannel):
    """What a partner-webhook channel looks like to the outbox."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def validate_recipient(self, to: str) -> None:
        if not to.startswith("https://"):
            raise ValidationError("https only", code="invalid_recipient")

    def render(self, *, template, context) -> channels.Rendered:
        return channels.Rendered(text=f"{template}:{context['event']}")

    def deliver(self, *, to, rendered, idempotency_key) -> str:
        self.sent.append((to, rendered.text, idempotency_key))
        return f"hook-{len(self.sent)}"


def test_a_channel_registered_by_another_app_gets_the_same_guarantees(monkeypatch):
    hook = RecordingChannel()
    monkeypatch.setattr(channels, "_registry", dict(channels._registry))
    channels.register_channel("webhook", hook)

    message = send_due(
        channel="webhook",
        to="https://partner.example.fr/hooks",
        template="partners/result-ready",
        context={"event": "result.ready"},
    )
    again = services.send_message(message_id=message.pk)

    assert "webhook" in channels.channel_names()
    assert message.state == State.SENT
    assert message.provider_id == "hook-1"
    assert again is None
    assert hook.sent == [
        (
            "https://partner.example.fr/hooks",
            "partners/result-ready:result.ready",
            message.key,
        )
    ]


def test_a_channel_name_must_be_a_plain_identifier():
    with pytest.raises(ValueError, match="Invalid channel name"):
        channels.register_channel("Web Hook", RecordingChannel())
