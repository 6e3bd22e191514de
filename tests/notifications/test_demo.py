import io

import pytest

from conciergerie.notifications import demo
from conciergerie.notifications.models import Message
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_outbox_is_seeded_once_and_waits_for_the_sweep():
    UserFactory(email="manager@conciergerie.local", language="en")
    UserFactory(email="someone@example.fr")

    demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())

    messages = Message.objects.all()
    assert messages.count() == 3
    assert {m.state for m in messages} == {Message.State.PENDING}
    assert {m.language for m in messages} == {"en"}
    assert {m.channel for m in messages} == {"email", "sms"}
