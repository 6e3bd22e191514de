"""Video providers for teleconsultations; Jitsi Meet (self-hosted, JWT) by default.

A provider creates unguessable room names, issues each participant a short-lived
token for one room, and says whether its server answers. Another provider can be
plugged in with the `VIDEO_PROVIDER` setting.
"""

import abc
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import jwt
import requests
from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Participant:
    id: str
    name: str
    email: str = ""
    moderator: bool = False


@dataclass(frozen=True)
class JoinInfo:
    domain: str
    room: str
    token: str

    @property
    def url(self) -> str:
        return f"https://{self.domain}/{quote(self.room)}?jwt={self.token}"


class VideoProvider(abc.ABC):
    @abc.abstractmethod
    def new_room_name(self) -> str:
        """An unguessable room name, for one teleconsultation."""

    @abc.abstractmethod
    def join(
        self,
        *,
        room: str,
        participant: Participant,
        not_before: datetime,
        expires_at: datetime,
    ) -> JoinInfo:
        """What a participant's browser needs to enter `room` within the window."""

    @abc.abstractmethod
    def is_reachable(self) -> bool:
        """Whether the video server answers now."""


class JitsiProvider(VideoProvider):
    """Jitsi Meet with prosody's token authentication (HS256 shared secret).

    The practitioner gets the `owner` affiliation (moderator); the patient is a
    `member` who cannot bypass the lobby, so the practitioner admits them. No
    recording, streaming or transcription feature is ever granted: no video of a
    consultation is kept.
    """

    algorithm = "HS256"

    def new_room_name(self) -> str:
        return "cz-" + secrets.token_hex(16)

    def join(
        self,
        *,
        room: str,
        participant: Participant,
        not_before: datetime,
        expires_at: datetime,
    ) -> JoinInfo:
        claims = {
            "aud": settings.VIDEO_JWT_APP_ID,
            "iss": settings.VIDEO_JWT_APP_ID,
            "sub": settings.VIDEO_DOMAIN,
            "room": room,
            "nbf": int(not_before.timestamp()),
            "exp": int(expires_at.timestamp()),
            "moderator": participant.moderator,
            "context": {
                "user": {
                    "id": participant.id,
                    "name": participant.name,
                    "email": participant.email,
                    "affiliation": "owner" if participant.moderator else "member",
                    "moderator": "true" if participant.moderator else "false",
                    "lobby_bypass": participant.moderator,
                },
                "room": {"lobby": True},
                "features": {
                    "recording": "false",
                    "livestreaming": "false",
                    "transcription": "false",
                    "outbound-call": "false",
                },
            },
        }
        token = jwt.encode(claims, settings.VIDEO_JWT_SECRET, algorithm=self.algorithm)
        return JoinInfo(domain=settings.VIDEO_DOMAIN, room=room, token=token)

    def is_reachable(self) -> bool:
        try:
            response = requests.get(settings.VIDEO_HEALTH_URL, timeout=3)
        except requests.RequestException:
            return False
        return response.status_code < 500


def get_video_provider() -> VideoProvider:
    return import_string(settings.VIDEO_PROVIDER)()


def decode_token(token: str) -> dict:
    """Read back a token we issued (tests and support diagnostics)."""
    return jwt.decode(
        token,
        settings.VIDEO_JWT_SECRET,
        algorithms=[JitsiProvider.algorithm],
        audience=settings.VIDEO_JWT_APP_ID,
        issuer=settings.VIDEO_JWT_APP_ID,
    )
