"""Encryption of health data at rest: Fernet tokens under rotating keys.

Keys come from `settings.FIELD_ENCRYPTION_KEYS`, newest first. New data is always
encrypted with the first key; every listed key still decrypts, so a new key can be
put in front, `rotate_encryption_keys` run, and the old key dropped afterwards.

Searchable secrets (the NIR) also get a *blind index*: an HMAC keyed by a key
derived from an encryption key, so that equal values can be found without storing
them readable. Lookups try the index of every configured key, which keeps them
working between a key change and the rotation that recomputes the indexes.
"""

import base64
import binascii
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: Every Fernet token starts with its version byte 0x80, base64-encoded as "gAAAAA".
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a secret


class DecryptionError(Exception):
    """A ciphertext that none of the configured keys opens."""


@functools.lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> tuple[Fernet, ...]:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return tuple(Fernet(key.strip().encode()) for key in keys)
    except (ValueError, binascii.Error) as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key."
        ) from error


def _configured_keys() -> tuple[str, ...]:
    return tuple(key for key in settings.FIELD_ENCRYPTION_KEYS if key.strip())


def multifernet() -> MultiFernet:
    """The keys of the settings, newest first (cached per key set)."""
    return MultiFernet(list(_fernets(_configured_keys())))


def encrypt(data: bytes) -> bytes:
    """Encrypt bytes with the newest key."""
    return multifernet().encrypt(data)


def decrypt(token: bytes) -> bytes:
    """Decrypt a token made with any configured key."""
    try:
        return multifernet().decrypt(token)
    except InvalidToken as error:
        raise DecryptionError(
            "No key of FIELD_ENCRYPTION_KEYS decrypts this value."
        ) from error


def rotate(token: bytes) -> bytes:
    """Re-encrypt a token under the newest key (keeping its timestamp)."""
    try:
        return multifernet().rotate(token)
    except InvalidToken as error:
        raise DecryptionError(
            "No key of FIELD_ENCRYPTION_KEYS decrypts this value."
        ) from error


def is_current(token: bytes) -> bool:
    """True when the newest key opens the token: rotation has nothing to do."""
    try:
        _fernets(_configured_keys())[0].decrypt(token)
    except InvalidToken:
        return False
    return True


def encrypt_text(value: str) -> str:
    return encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(value: str) -> str:
    return decrypt(value.encode("ascii")).decode("utf-8")


@functools.lru_cache(maxsize=32)
def _index_key(fernet_key: str, purpose: str) -> bytes:
    raw = base64.urlsafe_b64decode(fernet_key.strip().encode())
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"conciergerie-blind-index",
        info=purpose.encode(),
    ).derive(raw)


def blind_index(value: str, *, purpose: str) -> str:
    """The keyed hash of a value under the newest key (what new rows store)."""
    return blind_indexes(value, purpose=purpose)[0]


def blind_indexes(value: str, *, purpose: str) -> list[str]:
    """The keyed hashes of a value under every configured key (what lookups try)."""
    message = value.encode("utf-8")
    return [
        hmac.new(_index_key(key, purpose), message, hashlib.sha256).hexdigest()
        for key in _configured_keys()
    ]
