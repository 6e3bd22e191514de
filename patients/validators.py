"""Checks of French identifiers and identity traits."""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.fr import nir as stdnum_nir

INSEE_CODE_ERROR = _("Enter the 5-character INSEE code of the birthplace (e.g. 75056).")


def normalise_nir(value: str) -> str:
    """Drop the spaces, dots and dashes people type; keep Corsica's 2A/2B upper."""
    return stdnum_nir.compact(value or "").upper()


def validate_nir(value: str) -> None:
    """A French social security number: 13 characters and its 2-digit key.

    Corsican numbers (department 2A or 2B) are checked with 19 and 18 in place of
    the letters, as the Assurance Maladie does; python-stdnum knows the rule.
    """
    number = normalise_nir(value)
    try:
        stdnum_nir.validate(number)
    except stdnum_errors.InvalidChecksum as error:
        raise ValidationError(
            _(
                "This social security number does not match its key (the last two "
                "digits): please check it on your carte Vitale."
            ),
            code="invalid_nir_key",
        ) from error
    except stdnum_errors.ValidationError as error:
        raise ValidationError(
            _(
                "Enter the 15-digit social security number shown on your carte Vitale "
                "(13 digits and a 2-digit key)."
            ),
            code="invalid_nir",
        ) from error


def nir_conflicts(
    nir: str, *, sex: str, birth_date: date | None
) -> list[ValidationError]:
    """Traits that the NIR encodes and that contradict the identity given.

    The first digit is the sex (1 male, 2 female; 3, 4, 7, 8 are temporary numbers
    and say nothing reliable), then the year and month of birth (a month above 12
    means it was unknown at registration).
    """
    number = normalise_nir(nir)
    errors: list[ValidationError] = []
    if len(number) != 15:
        return errors
    if sex in ("male", "female") and number[0] in "12":
        expected = "1" if sex == "male" else "2"
        if number[0] != expected:
            errors.append(
                ValidationError(
                    _("This social security number is of a person of another sex."),
                    code="nir_sex_mismatch",
                )
            )
    if birth_date is not None and number[0] in "12":
        month = int(number[3:5]) if number[3:5].isdigit() else 0
        if number[1:3] != f"{birth_date.year % 100:02d}" or (
            1 <= month <= 12 and month != birth_date.month
        ):
            errors.append(
                ValidationError(
                    _(
                        "This social security number does not match the date of birth "
                        "(its digits 2 to 5 are the year and month of birth)."
                    ),
                    code="nir_birth_mismatch",
                )
            )
    return errors


def validate_insee_code(value: str) -> None:
    code = (value or "").upper()
    if len(code) != 5 or not (code.isdigit() or code[:2] in ("2A", "2B")):
        raise ValidationError(INSEE_CODE_ERROR, code="invalid_insee_code")


def validate_postal_code(value: str) -> None:
    """French postal codes have five digits; foreign ones are left to the user."""
    if value and not (value.isdigit() and len(value) == 5):
        raise ValidationError(
            _("A French postal code has five digits (e.g. 75013)."),
            code="invalid_postal_code",
        )


def validate_not_in_future(value: date) -> None:
    from django.utils import timezone

    if value and value > timezone.localdate():
        raise ValidationError(_("This date is in the future."), code="date_in_future")
