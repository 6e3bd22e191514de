import itertools
from datetime import timedelta

import factory
from django.utils import timezone

from conciergerie.notifications.models import Message
from conciergerie.notifications.services import schedule_message

_numbers = itertools.count(1)


def schedule(**overrides) -> Message:
    """Schedule a notice through the service, an hour from now unless told."""
    number = next(_numbers)
    channel = overrides.get("channel", "sms")
    fields = {
        "key": f"test.thing:{number}:notice:{channel}",
        "subject": f"test.thing:{number}",
        "channel": channel,
        "to": "+33612345678" if channel == "sms" else "camille.petit@example.fr",
        "template": "notifications/notice",
        "context": {"first_name": "Camille", "link": "https://example.fr/m/1"},
        "due_at": timezone.now() + timedelta(hours=1),
        "language": "fr",
    }
    fields.update(overrides)
    return schedule_message(**fields)


def make_due(message: Message) -> None:
    """Let time pass: the message's (next) attempt is now due."""
    past = timezone.now() - timedelta(seconds=1)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=past, due_at=past)


class MessageFactory(factory.django.DjangoModelFactory):
    """A row written straight to the table, in any state (admin and API tests)."""

    class Meta:
        model = Message

    key = factory.Sequence(lambda n: f"test.row:{n}:notice:sms")
    subject = factory.Sequence(lambda n: f"test.row:{n}")
    channel = "sms"
    to = "+33612345678"
    template = "notifications/notice"
    language = "fr"
    context = factory.LazyFunction(lambda: {"first_name": "Camille"})
    due_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.LazyAttribute(lambda message: message.due_at)
