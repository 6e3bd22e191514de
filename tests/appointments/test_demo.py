import io

import pytest

from appointments import demo
from appointments.models import Appointment, Face, SlotProposal
from conciergerie.notifications.models import Message


@pytest.fixture
def demo_world(db):
    """The demo staff, patients and a small directory, as seed_demo leaves them."""
    from conciergerie import demo as kernel
    from patients import demo as patients
    from specialists import demo as directory

    kernel.seed(stdout=io.StringIO())
    patients.seed(stdout=io.StringIO())
    directory.generate(count=60)


def test_the_demo_agenda_is_seeded_once_with_a_reminder_due_soon(demo_world):
    demo.seed(stdout=io.StringIO())
    first = Appointment.objects.count()
    demo.seed(stdout=io.StringIO())

    assert Appointment.objects.count() == first
    states = set(Appointment.objects.values_list("state", flat=True))
    assert {"booked", "confirmed", "done", "no_show", "cancelled"} <= states
    assert set(Appointment.objects.values_list("booked_via", flat=True)) == {Face.SEED}
    reminders = Message.objects.filter(
        template="appointments/messages/reminder", state=Message.State.PENDING
    ).order_by("due_at")
    assert reminders.exists()
    assert SlotProposal.objects.open().exists()
