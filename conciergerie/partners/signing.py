"""Webhook signatures: how Conciergerie signs, and how a partner checks.

This module uses the standard library only: partners may copy it as it is.

Every webhook request carries the header::

    X-Conciergerie-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51c…

where `t` is the Unix time of the attempt and `v1` the hex HMAC-SHA256 of
`"<t>.<raw body>"` keyed with the subscription's secret. While a secret is being
rotated the header carries two `v1` values, one per secret; either may match.

A receiver must (1) compute the HMAC over the raw bytes it received, before any
JSON parsing, (2) compare in constant time, and (3) refuse a timestamp older than
the replay window (5 minutes), then (4) de-duplicate on the event `id`: delivery
is at least once.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Conciergerie-Signature"
SCHEME = "v1"
#: Seconds a signed request stays acceptable (the replay window).
DEFAULT_TOLERANCE = 300


class SignatureVerificationError(ValueError):
    """The request is not a genuine, fresh webhook from Conciergerie."""


def compute_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with `secret`."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(*, body: bytes, secrets: list[str] | str, timestamp: int | None = None) -> str:
    """The value of the signature header for `body`, signed with each secret."""
    if isinstance(secrets, str):
        secrets = [secrets]
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    parts = [f"t={timestamp}"]
    parts += [
        f"{SCHEME}={compute_signature(secret=secret, timestamp=timestamp, body=body)}"
        for secret in secrets
    ]
    return ",".join(parts)


def parse_header(header: str) -> tuple[int, list[str]]:
    """The timestamp and the `v1` signatures of a signature header."""
    timestamp = None
    signatures = []
    for item in header.split(","):
        name, _sep, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureVerificationError("Malformed signature header.")
    return timestamp, signatures


def verify(
    *,
    body: bytes,
    header: str,
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a webhook request: its timestamp, or SignatureVerificationError.

    `body` must be the raw request body (bytes), `header` the value of the
    X-Conciergerie-Signature header, `secret` the subscription's secret.
    """
    timestamp, signatures = parse_header(header)
    expected = compute_signature(secret=secret, timestamp=timestamp, body=body)
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise SignatureVerificationError("No signature matches the body.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureVerificationError("The timestamp is outside the replay window.")
    return timestamp
