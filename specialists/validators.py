"""RPPS numbers: eleven digits, the last being a Luhn check digit.

The Annuaire Santé is authoritative and no official document confirms the Luhn key,
so a failed key is a warning for the concierge, never a refusal.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

RPPS_PATTERN = re.compile(r"^\d{11}$")


def normalize_rpps(value: str) -> str:
    """Drop spaces and dots typed by people: "10 100 123 456 7" -> "10100123456"."""
    return re.sub(r"[\s.\-]", "", value or "")


def luhn_is_valid(number: str) -> bool:
    """The Luhn (mod 10) check used by identifiers such as SIREN and RPPS."""
    if not number.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes `body + digit` pass the Luhn check."""
    for digit in "0123456789":
        if luhn_is_valid(body + digit):
            return digit
    raise ValueError(body)  # unreachable for a digit string


def validate_rpps(value: str) -> None:
    """Refuse anything but eleven digits; the key itself is only checked, see above."""
    if not RPPS_PATTERN.match(value or ""):
        raise ValidationError(
            _("An RPPS number has exactly 11 digits."), code="invalid_rpps"
        )


def rpps_key_is_valid(value: str) -> bool:
    return bool(RPPS_PATTERN.match(value or "")) and luhn_is_valid(value)


POSTAL_CODE = re.compile(r"^\d{5}$")


def validate_postal_code(value: str) -> None:
    """French postal codes have five digits (Corsica's start with 20, overseas 97)."""
    if not POSTAL_CODE.match(value or ""):
        raise ValidationError(
            _("A French postal code has 5 digits."), code="invalid_postal_code"
        )
