"""Signed links of teleconsultations.

- The patient's personal link, in the confirmation and reminder messages: it names
  the appointment and the patient file it was made for, so that it opens this one
  session for this one person (another account opening it is refused).
- The practitioner's single-use link, for a practitioner without an account: it
  names a `PractitionerPass`, spent once a one-time code has been entered.

Both are `django.core.signing` time-stamped signatures, salted per purpose so that
a token made for one is worthless for the other. The join window, not the token's
age, decides when a genuine link works; the age only bounds very old links.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

PATIENT_SALT = "teleconsult.patient-link"
PRACTITIONER_SALT = "teleconsult.practitioner-link"
#: A link older than this is refused whatever the appointment (moved ones included).
MAX_AGE = timedelta(days=180)


class BadLink(Exception):
    """The link is forged, truncated or made for something else."""


class ExpiredLink(BadLink):
    """The link was genuine but is too old."""


@dataclass(frozen=True)
class PatientToken:
    appointment_id: uuid.UUID
    patient_reference: str


def _signer(salt: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=salt, sep=".")


def _unsign(salt: str, token: str) -> str:
    try:
        return _signer(salt).unsign(token, max_age=MAX_AGE)
    except signing.SignatureExpired as error:
        raise ExpiredLink(token) from error
    except signing.BadSignature as error:
        raise BadLink(token) from error


def patient_token(appointment) -> str:
    value = f"{appointment.public_id.hex}~{appointment.patient.reference}"
    return _signer(PATIENT_SALT).sign(value)


def read_patient_token(token: str) -> PatientToken:
    value = _unsign(PATIENT_SALT, token)
    appointment_hex, _sep, reference = value.partition("~")
    try:
        appointment_id = uuid.UUID(hex=appointment_hex)
    except ValueError as error:
        raise BadLink(token) from error
    return PatientToken(appointment_id, reference)


def appointment_of_expired_token(token: str) -> uuid.UUID | None:
    """The appointment a genuine but expired patient link names (to log the try)."""
    try:
        value = _signer(PATIENT_SALT).unsign(token)
    except signing.BadSignature:
        return None
    try:
        return uuid.UUID(hex=value.partition("~")[0])
    except ValueError:
        return None


def practitioner_token(practitioner_pass) -> str:
    return _signer(PRACTITIONER_SALT).sign(practitioner_pass.public_id.hex)


def read_practitioner_token(token: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=_unsign(PRACTITIONER_SALT, token))
    except ValueError as error:
        raise BadLink(token) from error


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def patient_url(appointment) -> str:
    """The patient's personal join link (absolute, for messages)."""
    token = patient_token(appointment)
    return absolute(reverse("teleconsult:patient-link", kwargs={"token": token}))


def practitioner_url(practitioner_pass) -> str:
    token = practitioner_token(practitioner_pass)
    return absolute(reverse("teleconsult:practitioner-link", kwargs={"token": token}))
