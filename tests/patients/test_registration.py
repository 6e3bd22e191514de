"""Opening a file: identity checks, references, duplicates, dependants, merging."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from conciergerie.accounts.roles import Role
from conciergerie.audit.models import AccessLog
from patients import services
from patients.models import (
    REFERENCE_ALPHABET,
    Channel,
    Document,
    Guardianship,
    Patient,
    normalise_reference,
)
from tests.factories import UserFactory
from tests.patients.factories import (
    INVALID_NIR,
    VALID_CORSICAN_NIR,
    VALID_NIR,
    DocumentFactory,
    GuardianshipFactory,
    InsuranceCoverageFactory,
    MedicalProfileFactory,
    PatientFactory,
)


def _identity(**overrides) -> Patient:
    values = {
        "last_name": "Girard",
        "first_names": "Inès Marie",
        "birth_date": datetime.date(1995, 10, 4),
        "sex": Patient.Sex.FEMALE,
        "email": "ines.girard@example.fr",
        "mobile_phone": "06 12 34 56 78",
        "postal_code": "69003",
        "city": "Lyon",
    }
    values.update(overrides)
    return Patient(**values)


def _codes(error: ValidationError, field: str) -> list[str]:
    return [e.code for e in error.error_dict[field]]


def test_a_new_file_gets_a_short_random_reference_from_an_unambiguous_alphabet(db):
    patient = services.register_patient(
        patient=_identity(), by=None, channel=Channel.ADMIN
    )

    assert patient.reference.startswith("P-")
    assert len(patient.reference) == 8
    assert set(patient.reference[2:]) <= set(REFERENCE_ALPHABET)
    assert not set("01ILOU") & set(patient.reference[2:])


def test_a_reference_collision_draws_again(db):
    existing = PatientFactory()
    drawn = [existing.reference, "P-23456A"]

    with mock.patch("patients.models.new_reference", side_effect=drawn):
        patient = PatientFactory()

    assert patient.reference == "P-23456A"
    assert Patient.objects.count() == 2


def test_references_are_found_whatever_the_case_or_prefix():
    assert normalise_reference("p-7k3q9x") == "P-7K3Q9X"
    assert normalise_reference("7K3Q9X") == "P-7K3Q9X"
    assert normalise_reference(" P-7K3Q9X ") == "P-7K3Q9X"


def test_the_phone_is_stored_in_e164(db):
    patient = services.register_patient(
        patient=_identity(mobile_phone="06 12 34 56 78"), by=None, channel=Channel.ADMIN
    )

    patient.refresh_from_db()
    assert str(patient.mobile_phone) == "+33612345678"


@pytest.mark.parametrize(
    ("nir", "birth_date", "sex"),
    [
        (VALID_NIR, datetime.date(1995, 10, 4), Patient.Sex.FEMALE),
        (VALID_CORSICAN_NIR, datetime.date(1986, 2, 11), Patient.Sex.MALE),
        ("2 95 10 99 126 111 93", datetime.date(1995, 10, 4), Patient.Sex.FEMALE),
    ],
)
def test_valid_social_security_numbers_are_accepted(db, nir, birth_date, sex):
    patient = services.register_patient(
        patient=_identity(nir=nir, birth_date=birth_date, sex=sex),
        by=None,
        channel=Channel.ADMIN,
    )

    assert Patient.objects.get(pk=patient.pk).nir == nir.replace(" ", "")


def test_a_wrong_nir_key_is_a_field_error_and_nothing_is_saved(db):
    with pytest.raises(ValidationError) as error:
        services.register_patient(
            patient=_identity(nir=INVALID_NIR), by=None, channel=Channel.ADMIN
        )

    assert _codes(error.value, "nir") == ["invalid_nir_key"]
    assert not Patient.objects.exists()
    assert not AccessLog.objects.exists()


def test_a_malformed_nir_is_refused(db):
    with pytest.raises(ValidationError) as error:
        services.register_patient(
            patient=_identity(nir="12345"), by=None, channel=Channel.ADMIN
        )

    assert _codes(error.value, "nir") == ["invalid_nir"]


def test_a_nir_of_another_sex_or_birth_date_is_refused(db):
    with pytest.raises(ValidationError) as error:
        services.register_patient(
            patient=_identity(
                nir=VALID_NIR,
                sex=Patient.Sex.MALE,
                birth_date=datetime.date(1990, 1, 1),
            ),
            by=None,
            channel=Channel.ADMIN,
        )

    assert set(_codes(error.value, "nir")) == {"nir_sex_mismatch", "nir_birth_mismatch"}


@pytest.mark.parametrize(
    ("phone", "code"), [("06 12 34", "invalid"), ("01 44 55 66 77", "not_a_mobile")]
)
def test_a_bad_or_landline_phone_is_refused(db, phone, code):
    with pytest.raises(ValidationError) as error:
        services.register_patient(
            patient=_identity(mobile_phone=phone), by=None, channel=Channel.ADMIN
        )

    assert code in _codes(error.value, "mobile_phone")
    assert not Patient.objects.exists()


def test_a_french_postal_code_has_five_digits(db):
    with pytest.raises(ValidationError) as error:
        services.register_patient(
            patient=_identity(postal_code="6900"), by=None, channel=Channel.ADMIN
        )

    assert _codes(error.value, "postal_code") == ["invalid_postal_code"]


def test_quiet_hours_need_a_start_and_an_end(db):
    with pytest.raises(ValidationError) as error:
        services.register_patient(
            patient=_identity(quiet_hours_start=datetime.time(21)),
            by=None,
            channel=Channel.ADMIN,
        )

    assert "quiet_hours_incomplete" in _codes(error.value, "quiet_hours_end")


def test_registration_is_audited(adviser):
    patient = services.register_patient(
        patient=_identity(), by=adviser, channel=Channel.PHONE
    )

    row = AccessLog.objects.get()
    assert (row.action, row.patient_ref, row.actor) == (
        AccessLog.Action.CREATE,
        patient.reference,
        adviser,
    )
    assert patient.created_by == adviser


# --- Duplicates ---------------------------------------------------------------------


def test_same_name_and_birth_date_is_a_likely_duplicate_accents_aside(db):
    existing = PatientFactory(
        last_name="Hélène", first_names="Zoé Anne", birth_date=datetime.date(1980, 5, 1)
    )

    found = services.find_duplicates(
        last_name="HELENE", first_names="Zoe", birth_date=datetime.date(1980, 5, 1)
    )

    assert list(found) == [existing]


def test_the_birth_name_also_matches(db):
    existing = PatientFactory(
        last_name="Martin",
        birth_last_name="Durand",
        first_names="Léa",
        birth_date=datetime.date(1980, 5, 1),
    )

    found = services.find_duplicates(
        last_name="Durand", first_names="Léa", birth_date=datetime.date(1980, 5, 1)
    )

    assert list(found) == [existing]


def test_the_same_nir_is_a_duplicate_whatever_the_name(db):
    existing = PatientFactory(nir=VALID_NIR, birth_date=datetime.date(1995, 10, 4))

    found = services.find_duplicates(
        last_name="Autre", first_names="Nom", birth_date=None, nir=VALID_NIR
    )

    assert list(found) == [existing]


def test_the_same_email_and_birth_date_is_a_duplicate_but_not_a_shared_email(db):
    existing = PatientFactory(
        email="famille@example.fr", birth_date=datetime.date(1980, 5, 1)
    )

    same_person = services.find_duplicates(
        last_name="X",
        first_names="Y",
        birth_date=datetime.date(1980, 5, 1),
        email="FAMILLE@example.fr",
    )
    sibling = services.find_duplicates(
        last_name="X",
        first_names="Y",
        birth_date=datetime.date(2015, 5, 1),
        email="famille@example.fr",
    )

    assert list(same_person) == [existing]
    assert not sibling.exists()


def test_a_duplicate_the_registrant_can_see_stops_the_registration(adviser):
    existing = PatientFactory(
        last_name="Girard", first_names="Inès", birth_date=datetime.date(1995, 10, 4)
    )

    with pytest.raises(services.PossibleDuplicate) as error:
        services.register_patient(
            patient=_identity(), by=adviser, channel=Channel.PHONE
        )

    assert error.value.code == "possible_duplicate"
    assert error.value.candidates == [existing]
    assert Patient.objects.count() == 1


def test_confirming_creates_a_second_file_flagged_for_review(adviser):
    existing = PatientFactory(
        last_name="Girard", first_names="Inès", birth_date=datetime.date(1995, 10, 4)
    )

    patient = services.register_patient(
        patient=_identity(), by=adviser, channel=Channel.PHONE, confirm_duplicate=True
    )

    assert patient.duplicate_review_needed
    assert list(patient.possible_duplicates.all()) == [existing]


def test_a_duplicate_hidden_from_the_registrant_is_not_revealed_but_flagged(
    patient_user,
):
    PatientFactory(
        last_name="Girard", first_names="Inès", birth_date=datetime.date(1995, 10, 4)
    )

    patient = services.register_patient(
        patient=_identity(), by=patient_user, channel=Channel.PORTAL, user=patient_user
    )

    assert patient.user == patient_user
    assert patient.duplicate_review_needed


def test_an_account_has_one_own_file(patient):
    with pytest.raises(ValidationError) as error:
        services.register_patient(
            patient=_identity(),
            by=patient.user,
            channel=Channel.PORTAL,
            user=patient.user,
        )

    assert error.value.code == "already_has_file"


# --- Dependants ---------------------------------------------------------------------


def test_a_parent_opens_the_file_of_their_child(patient_user):
    child = services.add_dependant(
        guardian=patient_user,
        patient=_identity(
            first_names="Léo", birth_date=datetime.date(2019, 3, 1), email=""
        ),
        relationship=Guardianship.Relationship.PARENT,
        health_data_consent=True,
    )

    assert child.user is None
    assert Guardianship.objects.get(patient=child).guardian == patient_user
    assert list(Patient.objects.visible_to(patient_user)) == [child]
    assert services.has_health_data_consent(child)


def test_a_parent_relationship_is_for_minors(patient_user):
    with pytest.raises(ValidationError) as error:
        services.add_dependant(
            guardian=patient_user,
            patient=_identity(birth_date=datetime.date(1990, 3, 1)),
            relationship=Guardianship.Relationship.PARENT,
        )

    assert _codes(error.value, "birth_date") == ["dependant_not_minor"]


def test_a_childs_file_is_visible_to_its_guardians_only(
    patient_user, other_patient_user
):
    guardianship = GuardianshipFactory(guardian=patient_user)

    assert guardianship.patient in Patient.objects.visible_to(patient_user)
    assert guardianship.patient not in Patient.objects.visible_to(other_patient_user)


def test_parents_stop_managing_the_file_at_majority(patient_user):
    adult = GuardianshipFactory(
        guardian=patient_user,
        patient=PatientFactory(birth_date=datetime.date(2000, 1, 1)),
    )
    child = GuardianshipFactory(guardian=patient_user)

    ended = services.end_guardianships_of_adults()

    assert ended == 1
    assert list(Patient.objects.visible_to(patient_user)) == [child.patient]
    adult.refresh_from_db()
    assert adult.ended_at is not None


# --- Rectification, assignment, merge -----------------------------------------------


def test_rectifying_identity_keeps_the_previous_values_in_the_history(patient):
    patient.city = "Marseille"
    patient.postal_code = "13001"

    services.update_identity(
        patient=patient, by=patient.user, changed_fields=["city", "postal_code"]
    )

    assert Patient.objects.get(pk=patient.pk).city == "Marseille"
    assert patient.history.earliest().city == "Paris"
    assert AccessLog.objects.filter(action=AccessLog.Action.UPDATE).count() == 1


def test_assigning_a_file_requires_a_staff_member(patient, adviser, patient_user):
    services.assign_staff(patient=patient, staff=adviser, by=adviser)

    with pytest.raises(ValidationError) as error:
        services.assign_staff(patient=patient, staff=patient_user, by=adviser)

    assert patient.is_assigned_to(adviser)
    assert error.value.code == "not_staff"


def test_merging_moves_everything_to_the_kept_file(adviser, patient):
    duplicate = PatientFactory(
        last_name=patient.last_name,
        first_names=patient.first_names,
        birth_date=patient.birth_date,
    )
    document = DocumentFactory(patient=duplicate)
    MedicalProfileFactory(patient=duplicate, allergies="Latex")
    MedicalProfileFactory(patient=patient, allergies="Pollen")
    InsuranceCoverageFactory(patient=duplicate, valid_from=datetime.date(2025, 1, 1))
    InsuranceCoverageFactory(patient=patient, valid_from=datetime.date(2026, 1, 1))
    referrer = UserFactory(role=Role.PARTNER)
    Patient.objects.filter(pk=duplicate.pk).update(referred_by=referrer)
    duplicate.refresh_from_db()

    kept = services.merge_patients(keep=patient, duplicate=duplicate, by=adviser)

    duplicate.refresh_from_db()
    assert duplicate.merged_into == kept
    assert Document.objects.get(pk=document.pk).patient == kept
    assert "Pollen" in kept.medical_profile.allergies
    assert "Latex" in kept.medical_profile.allergies
    assert kept.referred_by == referrer
    # The two coverages overlap (2025 open-ended vs 2026): the older stays behind.
    assert kept.insurance_coverages.count() == 1
    assert duplicate not in Patient.objects.visible_to(patient.user)
    assert AccessLog.objects.filter(action=AccessLog.Action.MERGE).count() == 2


def test_two_files_with_their_own_accounts_are_not_merged(
    adviser, patient, other_patient
):
    with pytest.raises(ValidationError) as error:
        services.merge_patients(keep=patient, duplicate=other_patient, by=adviser)

    assert error.value.code == "two_accounts"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_registrations_of_one_person_make_one_file(adviser):
    """Both requests pass their form checks at once; the second must still see
    the first one's file instead of silently opening a twin."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    outcomes = []

    def register():
        try:
            barrier.wait()
            services.register_patient(
                patient=_identity(), by=adviser, channel=Channel.PHONE
            )
            outcomes.append("created")
        except services.PossibleDuplicate:
            outcomes.append("duplicate")
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "duplicate"]
    assert Patient.objects.count() == 1
