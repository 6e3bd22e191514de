"""Signed links in messages: confirm or cancel, pick a proposed slot, accept an
offer, read a pre-consultation file, upload a report, fetch a calendar.

A token is `django.core.signing` over the object's public id (22 characters of
URL-safe base64) and one letter naming the action, salted per purpose, so that a
token made for one purpose is worthless for another. Time-stamped tokens carry
their age (`max_age`); calendar feeds are revoked in the database instead.
Tokens are short on purpose (a truncated signature): two of them fit in a
two-segment SMS with its text.
"""

import base64
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

UUID_LENGTH = 22


class Purpose:
    ACTION = "action"
    PROPOSAL = "proposal"
    OFFER = "offer"
    ICS = "ics"
    FEED = "feed"
    PRE_CONSULTATION = "pre-consultation"
    REPORT = "report"
    PRESCRIPTION = "prescription"


#: How long each kind of link lives, at most (objects may end it sooner).
MAX_AGE = {
    Purpose.ACTION: timedelta(days=120),
    Purpose.PROPOSAL: timedelta(days=30),
    Purpose.OFFER: timedelta(days=2),
    Purpose.ICS: timedelta(days=400),
    Purpose.PRE_CONSULTATION: timedelta(days=120),
    Purpose.REPORT: timedelta(days=120),
    Purpose.PRESCRIPTION: timedelta(days=60),
}


@dataclass(frozen=True)
class Token:
    public_id: uuid.UUID
    action: str


class BadLink(Exception):
    """The link is forged, broken or made for something else."""


class ExpiredLink(BadLink):
    """The link was genuine but is too old."""


def _encode(public_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(public_id.bytes).rstrip(b"=").decode()


def _decode(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(value + "=="))
    except (ValueError, TypeError) as error:
        raise BadLink(value) from error


#: Characters of the HMAC-SHA256 (base64) kept in a token: 16 are 96 bits, far
#: beyond what guessing over HTTP can reach, and short enough for two links in a
#: two-segment SMS.
SIGNATURE_LENGTH = 16


class _ShortSigner(signing.Signer):
    def signature(self, value, key=None) -> str:
        return super().signature(value, key)[:SIGNATURE_LENGTH]


class _ShortTimestampSigner(signing.TimestampSigner):
    def signature(self, value, key=None) -> str:
        return super().signature(value, key)[:SIGNATURE_LENGTH]


def _signer(purpose: str) -> signing.Signer:
    salt = f"appointments.{purpose}"
    if purpose == Purpose.FEED:
        return _ShortSigner(salt=salt, sep=".")
    return _ShortTimestampSigner(salt=salt, sep=".")


def make_token(purpose: str, public_id: uuid.UUID, action: str = "") -> str:
    if len(action) > 1:
        raise ValueError("An action is one letter")
    return _signer(purpose).sign(_encode(public_id) + action)


def read_token(purpose: str, token: str) -> Token:
    """The id and action of a genuine, fresh token; raises BadLink or ExpiredLink."""
    signer = _signer(purpose)
    try:
        if isinstance(signer, signing.TimestampSigner):
            value = signer.unsign(token, max_age=MAX_AGE[purpose])
        else:
            value = signer.unsign(token)
    except signing.SignatureExpired as error:
        raise ExpiredLink(purpose) from error
    except signing.BadSignature as error:
        raise BadLink(purpose) from error
    if len(value) not in (UUID_LENGTH, UUID_LENGTH + 1):
        raise BadLink(purpose)
    return Token(_decode(value[:UUID_LENGTH]), value[UUID_LENGTH:])


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def url(name: str, purpose: str, public_id: uuid.UUID, action: str = "") -> str:
    """The absolute URL of the view `name`, whose one argument is the token."""
    token = make_token(purpose, public_id, action)
    return absolute(reverse(name, kwargs={"token": token}))
