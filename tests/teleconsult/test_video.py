"""Jitsi rooms and tokens: who may enter which room, as what, and until when."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from django.utils import timezone

from teleconsult.video import JitsiProvider, Participant, decode_token

PRACTITIONER = Participant(id="p-1", name="Dr Leroy", moderator=True)
PATIENT = Participant(id="P-7K3Q9X", name="Camille Petit")


@pytest.fixture
def window():
    now = timezone.now()
    return now - timedelta(minutes=15), now + timedelta(minutes=45)


def test_room_names_are_unguessable_and_unique():
    provider = JitsiProvider()

    names = {provider.new_room_name() for _ in range(200)}

    assert len(names) == 200
    assert all(len(name) >= 32 for name in names)


def test_the_practitioner_is_the_moderator_and_bypasses_the_lobby(window):
    info = JitsiProvider().join(
        room="cz-room",
        participant=PRACTITIONER,
        not_before=window[0],
        expires_at=window[1],
    )

    claims = decode_token(info.token)
    assert claims["room"] == "cz-room"
    assert claims["context"]["user"]["affiliation"] == "owner"
    assert claims["context"]["user"]["lobby_bypass"] is True
    assert claims["moderator"] is True


def test_the_patient_is_a_guest_who_waits_in_the_lobby(window):
    info = JitsiProvider().join(
        room="cz-room", participant=PATIENT, not_before=window[0], expires_at=window[1]
    )

    claims = decode_token(info.token)
    assert claims["context"]["user"]["affiliation"] == "member"
    assert claims["context"]["user"]["lobby_bypass"] is False
    assert claims["context"]["room"]["lobby"] is True
    assert claims["context"]["features"]["recording"] == "false"


def test_a_token_is_valid_only_within_its_window(settings, window):
    info = JitsiProvider().join(
        room="cz-room", participant=PATIENT, not_before=window[0], expires_at=window[1]
    )
    claims = decode_token(info.token)

    assert claims["nbf"] == int(window[0].timestamp())
    assert claims["exp"] == int(window[1].timestamp())
    expired = JitsiProvider().join(
        room="cz-room",
        participant=PATIENT,
        not_before=window[0] - timedelta(hours=2),
        expires_at=window[0] - timedelta(hours=1),
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_token(expired.token)


def test_a_token_signed_with_another_secret_is_rejected(settings, window):
    info = JitsiProvider().join(
        room="cz-room", participant=PATIENT, not_before=window[0], expires_at=window[1]
    )
    settings.VIDEO_JWT_SECRET = "another secret entirely, long enough for HS256"

    with pytest.raises(jwt.InvalidSignatureError):
        decode_token(info.token)


def test_the_join_url_carries_domain_room_and_token(settings, window):
    settings.VIDEO_DOMAIN = "visio.example.fr"

    info = JitsiProvider().join(
        room="cz-abc", participant=PATIENT, not_before=window[0], expires_at=window[1]
    )

    assert info.url == f"https://visio.example.fr/cz-abc?jwt={info.token}"


class _Answer(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_reachability_asks_the_video_server(settings):
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.VIDEO_HEALTH_URL = f"http://127.0.0.1:{server.server_port}/"
        assert JitsiProvider().is_reachable() is True
    finally:
        server.shutdown()
        server.server_close()

    assert JitsiProvider().is_reachable() is False  # nothing listens any more
