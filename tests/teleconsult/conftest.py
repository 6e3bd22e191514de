"""Teleconsultation fixtures: a video provider that never calls out, and a video
appointment whose join window is open now."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.models import Appointment
from conciergerie.notifications.backends import LocmemSmsBackend
from specialists.models import ConsultationType
from teleconsult.models import TeleconsultationSession
from teleconsult.video import JitsiProvider


class FakeProvider(JitsiProvider):
    """Jitsi's rooms and tokens, with a reachability the test decides."""

    reachable = True

    def is_reachable(self) -> bool:
        return type(self).reachable


@pytest.fixture(autouse=True)
def _video(settings, tmp_path):
    settings.VIDEO_PROVIDER = "tests.teleconsult.conftest.FakeProvider"
    settings.VIDEO_DOMAIN = "meet.conciergerie.local"
    settings.VIDEO_JOIN_OPENS_MINUTES = 15
    settings.VIDEO_JOIN_CLOSES_MINUTES = 30
    settings.SPECIALISTS_BUSY_INTERVALS = "appointments.availability.busy_intervals"
    settings.MEDIA_ROOT = tmp_path / "media"
    FakeProvider.reachable = True
    LocmemSmsBackend.reset()
    yield
    # A class attribute outlives the test: put it back for the browser tests.
    FakeProvider.reachable = True
    LocmemSmsBackend.reset()


def make_video_appointment(*, patient=None, practitioner=None, starts_in=-5, **kwargs):
    """A booked video appointment starting `starts_in` minutes from now."""
    from tests.appointments.factories import AppointmentFactory

    starts_at = timezone.now() + timedelta(minutes=starts_in)
    fields = {
        "mode": Appointment.Mode.VIDEO,
        "place": None,
        "consultation_kind": ConsultationType.Kind.TELECONSULTATION,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=20),
        **kwargs,
    }
    if patient is not None:
        fields["patient"] = patient
    if practitioner is not None:
        fields["practitioner"] = practitioner
    return AppointmentFactory(**fields)


@pytest.fixture
def video_appointment(patient):
    return make_video_appointment(patient=patient)


@pytest.fixture
def session(video_appointment) -> TeleconsultationSession:
    return TeleconsultationSession.objects.get(appointment=video_appointment)
