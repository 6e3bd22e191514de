import pytest

from conciergerie.partners.signing import (
    SignatureVerificationError,
    compute_signature,
    sign,
    verify,
)

BODY = b'{"id":"0b8a","type":"ping","created_at":"2026-03-02T08:00:00Z","data":{}}'
SECRET = "whsec_test"


def test_a_signed_body_verifies_with_its_secret():
    header = sign(body=BODY, secrets=SECRET, timestamp=1_700_000_000)

    assert verify(body=BODY, header=header, secret=SECRET, now=1_700_000_010) == (
        1_700_000_000
    )


def test_the_header_is_the_timestamp_and_the_hmac_of_timestamp_dot_body():
    header = sign(body=BODY, secrets=SECRET, timestamp=1_700_000_000)

    expected = compute_signature(secret=SECRET, timestamp=1_700_000_000, body=BODY)
    assert header == f"t=1700000000,v1={expected}"
    assert len(expected) == 64


@pytest.mark.parametrize(
    ("body", "secret", "now"),
    [
        (BODY + b" ", SECRET, 1_700_000_000),
        (BODY, "whsec_other", 1_700_000_000),
        (BODY, SECRET, 1_700_000_000 + 301),
        (BODY, SECRET, 1_700_000_000 - 301),
    ],
    ids=["tampered body", "wrong secret", "too old", "from the future"],
)
def test_tampered_stale_or_foreign_requests_are_refused(body, secret, now):
    header = sign(body=BODY, secrets=SECRET, timestamp=1_700_000_000)

    with pytest.raises(SignatureVerificationError):
        verify(body=body, header=header, secret=secret, now=now)


def test_during_a_rotation_either_secret_verifies():
    header = sign(
        body=BODY, secrets=["whsec_new", "whsec_old"], timestamp=1_700_000_000
    )

    for secret in ("whsec_new", "whsec_old"):
        verify(body=BODY, header=header, secret=secret, now=1_700_000_000)
    assert header.count("v1=") == 2


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1700000000"])
def test_a_malformed_header_is_refused(header):
    with pytest.raises(SignatureVerificationError):
        verify(body=BODY, header=header, secret=SECRET, now=1_700_000_000)


def test_the_module_uses_the_standard_library_only_so_partners_can_copy_it():
    import ast
    from pathlib import Path

    from conciergerie.partners import signing

    tree = ast.parse(Path(signing.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"hashlib", "hmac", "time"}
