"""Who sees what: one `visible_to(user)` per model, the medical access rules."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conciergerie.accounts.roles import Role
from conciergerie.audit.models import AccessLog
from patients import services
from patients.access import MedicalAccess, document_access, medical_access
from patients.models import (
    Document,
    HealthDataConsent,
    InsuranceCoverage,
    MedicalProfile,
    Patient,
    SharingConsent,
)
from tests.factories import UserFactory
from tests.patients.factories import (
    DocumentFactory,
    InsuranceCoverageFactory,
    MedicalProfileFactory,
    PatientFactory,
    SharingConsentFactory,
)


@pytest.fixture
def partner_user(db):
    return UserFactory(role=Role.PARTNER)


@pytest.fixture
def file_of(patient):
    """Camille's full file: profile, insurance, two documents."""
    profile = MedicalProfileFactory(patient=patient)
    coverage = InsuranceCoverageFactory(patient=patient)
    report = DocumentFactory(patient=patient, title="Compte rendu cardiologie")
    results = DocumentFactory(patient=patient, title="Bilan sanguin")
    return {
        "profile": profile,
        "coverage": coverage,
        "report": report,
        "results": results,
    }


def _sees(model, user) -> set:
    return set(model.objects.visible_to(user).values_list("pk", flat=True))


def test_a_patient_sees_their_file_and_nobody_elses(patient, other_patient, file_of):
    user = patient.user

    assert _sees(Patient, user) == {patient.pk}
    assert _sees(MedicalProfile, user) == {file_of["profile"].pk}
    assert _sees(Document, user) == {file_of["report"].pk, file_of["results"].pk}
    assert _sees(InsuranceCoverage, user) == {file_of["coverage"].pk}
    assert other_patient.pk not in _sees(Patient, user)


def test_a_coordinator_sees_identity_and_insurance_but_no_medical_data(
    coordinator, patient, file_of
):
    assert patient.pk in _sees(Patient, coordinator)
    assert file_of["coverage"].pk in _sees(InsuranceCoverage, coordinator)
    assert _sees(MedicalProfile, coordinator) == set()
    assert _sees(Document, coordinator) == set()
    assert medical_access(coordinator, patient) is MedicalAccess.DENIED


def test_a_manager_sees_identity_and_insurance_for_billing_only(
    manager, patient, file_of
):
    assert patient.pk in _sees(Patient, manager)
    assert file_of["coverage"].pk in _sees(InsuranceCoverage, manager)
    assert _sees(MedicalProfile, manager) == set()
    assert _sees(Document, manager) == set()


def test_a_medical_adviser_may_read_medical_data(adviser, patient, file_of):
    assert file_of["profile"].pk in _sees(MedicalProfile, adviser)
    assert file_of["report"].pk in _sees(Document, adviser)


def test_an_assigned_adviser_reads_without_breaking_the_glass(adviser, patient):
    services.assign_staff(patient=patient, staff=adviser, by=adviser)

    assert medical_access(adviser, patient) is MedicalAccess.GRANTED


def test_an_unassigned_adviser_must_give_a_reason(adviser, patient, file_of):
    assert medical_access(adviser, patient) is MedicalAccess.BREAK_GLASS
    assert document_access(adviser, file_of["report"]) is MedicalAccess.BREAK_GLASS

    with pytest.raises(ValidationError) as error:
        services.break_the_glass(user=adviser, patient=patient, reason="urgent")
    assert error.value.error_dict["reason"][0].code == "reason_required"

    row = services.break_the_glass(
        user=adviser,
        patient=patient,
        reason="Appel de la patiente, conseillère absente",
    )

    assert row.action == AccessLog.Action.BREAK_GLASS
    assert row.reason == "Appel de la patiente, conseillère absente"
    assert medical_access(adviser, patient) is MedicalAccess.GRANTED
    assert document_access(adviser, file_of["report"]) is MedicalAccess.GRANTED


def test_breaking_the_glass_lasts_a_limited_time(adviser, patient, settings):
    services.break_the_glass(
        user=adviser,
        patient=patient,
        reason="Appel de la patiente, conseillère absente",
    )
    settings.BREAK_GLASS_MINUTES = 0

    assert medical_access(adviser, patient) is MedicalAccess.BREAK_GLASS


def test_a_coordinator_cannot_break_the_glass(coordinator, patient):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.break_the_glass(
            user=coordinator, patient=patient, reason="Je voudrais voir le dossier"
        )


def test_a_practitioner_sees_nothing_without_consent(
    practitioner_user, patient, file_of
):
    assert _sees(Patient, practitioner_user) == set()
    assert _sees(Document, practitioner_user) == set()
    assert medical_access(practitioner_user, patient) is MedicalAccess.DENIED


def test_a_practitioner_sees_only_the_document_shared_with_them(
    practitioner_user, patient, file_of
):
    SharingConsentFactory(
        patient=patient, recipient=practitioner_user, document=file_of["report"]
    )

    assert _sees(Patient, practitioner_user) == {patient.pk}
    assert _sees(Document, practitioner_user) == {file_of["report"].pk}
    assert (
        document_access(practitioner_user, file_of["results"]) is MedicalAccess.DENIED
    )
    assert _sees(MedicalProfile, practitioner_user) == set()
    assert medical_access(practitioner_user, patient) is MedicalAccess.DENIED


def test_sharing_the_whole_file_shows_profile_and_every_document(
    practitioner_user, patient, file_of
):
    SharingConsentFactory(patient=patient, recipient=practitioner_user)

    assert _sees(MedicalProfile, practitioner_user) == {file_of["profile"].pk}
    assert _sees(Document, practitioner_user) == {
        file_of["report"].pk,
        file_of["results"].pk,
    }
    assert _sees(InsuranceCoverage, practitioner_user) == set()
    assert medical_access(practitioner_user, patient) is MedicalAccess.GRANTED


def test_revoking_a_sharing_takes_effect_immediately(
    practitioner_user, patient, file_of
):
    consent = SharingConsentFactory(patient=patient, recipient=practitioner_user)

    services.revoke_sharing(consent=consent, by=patient.user)

    assert _sees(Document, practitioner_user) == set()
    assert _sees(Patient, practitioner_user) == set()


def test_an_expired_sharing_shows_nothing(practitioner_user, patient, file_of):
    SharingConsentFactory(
        patient=patient,
        recipient=practitioner_user,
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    assert _sees(Document, practitioner_user) == set()


def test_a_partner_sees_the_patients_it_referred_and_what_it_sent(
    partner_user, patient, file_of
):
    referred = PatientFactory(referred_by=partner_user, consented=True)
    sent = DocumentFactory(patient=referred, uploaded_by=partner_user)
    DocumentFactory(patient=referred)  # sent by someone else

    assert _sees(Patient, partner_user) == {referred.pk}
    assert _sees(Document, partner_user) == {sent.pk}
    assert _sees(MedicalProfile, partner_user) == set()


def test_a_partner_sees_a_patient_who_consented_to_share_with_it(partner_user, patient):
    SharingConsentFactory(patient=patient, recipient=partner_user)

    assert _sees(Patient, partner_user) == {patient.pk}


def test_consents_are_visible_to_the_patient_and_to_their_recipient(
    practitioner_user, patient, other_patient
):
    consent = SharingConsentFactory(patient=patient, recipient=practitioner_user)

    assert _sees(SharingConsent, patient.user) == {consent.pk}
    assert _sees(SharingConsent, practitioner_user) == {consent.pk}
    assert _sees(SharingConsent, other_patient.user) == set()
    assert _sees(HealthDataConsent, other_patient.user) == set(
        other_patient.health_data_consents.values_list("pk", flat=True)
    )


def test_an_inactive_account_sees_nothing(patient):
    patient.user.is_active = False

    assert _sees(Patient, patient.user) == set()
    assert medical_access(patient.user, patient) is MedicalAccess.DENIED
