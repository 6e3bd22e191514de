import pytest
from django.core.exceptions import ValidationError

from specialists.models import Practitioner
from specialists.validators import (
    luhn_check_digit,
    luhn_is_valid,
    normalize_rpps,
    rpps_key_is_valid,
    validate_rpps,
)
from tests.specialists.factories import PractitionerFactory


def test_an_rpps_number_with_a_correct_luhn_key_is_valid():
    body = "1010012345"
    number = body + luhn_check_digit(body)

    assert rpps_key_is_valid(number)
    validate_rpps(number)


def test_the_luhn_check_follows_the_reference_vectors():
    assert luhn_is_valid("79927398713")
    assert not luhn_is_valid("79927398710")
    assert not luhn_is_valid("7992739871a")


@pytest.mark.parametrize("value", ["1234567890", "123456789012", "1234567890a", ""])
def test_anything_but_eleven_digits_is_refused_with_a_code(value):
    with pytest.raises(ValidationError) as error:
        validate_rpps(value)

    assert error.value.code == "invalid_rpps"


def test_spaces_and_dots_typed_by_people_are_dropped():
    assert normalize_rpps("10 100.123 45-6") == "10100123456"


def test_a_failed_key_is_stored_as_a_warning_not_refused(db):
    body = "1010012345"
    wrong = body + str((int(luhn_check_digit(body)) + 1) % 10)

    practitioner = PractitionerFactory(rpps=wrong)
    practitioner.full_clean()

    practitioner.refresh_from_db()
    assert practitioner.rpps == wrong
    assert practitioner.rpps_key_valid is False


def test_a_valid_key_is_flagged_valid_and_no_number_is_unknown(db):
    assert PractitionerFactory().rpps_key_valid is True
    assert PractitionerFactory(rpps=None).rpps_key_valid is None


def test_a_malformed_rpps_fails_full_clean_on_the_field(db):
    practitioner = PractitionerFactory.build(rpps="12345")

    with pytest.raises(ValidationError) as error:
        practitioner.full_clean(exclude=["user"])

    assert error.value.error_dict["rpps"][0].code == "invalid_rpps"


def test_the_database_refuses_a_malformed_rpps(db):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        Practitioner.objects.create(first_name="A", last_name="B", rpps="12AB")


@pytest.mark.parametrize("value", ["7501", "750011", "2A004", "75 01", ""])
def test_a_postal_code_has_five_digits(value):
    from specialists.validators import validate_postal_code

    with pytest.raises(ValidationError) as error:
        validate_postal_code(value)

    assert error.value.code == "invalid_postal_code"


def test_a_place_with_a_malformed_postal_code_fails_validation(db):
    from tests.specialists.factories import PracticePlaceFactory

    place = PracticePlaceFactory.build(
        practitioner=PractitionerFactory(), postal_code="7501"
    )

    with pytest.raises(ValidationError) as error:
        place.full_clean()

    assert error.value.error_dict["postal_code"][0].code == "invalid_postal_code"
    place.postal_code = "20000"  # Ajaccio
    place.full_clean()
