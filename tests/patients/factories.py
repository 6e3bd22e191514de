"""Factories of the patient file: patients, dependants, insurance, documents…"""

import datetime
from decimal import Decimal

import factory
from django.conf import settings
from django.utils import timezone

from conciergerie.accounts.roles import Role
from patients import files
from patients.models import (
    EMERGENCY_PROTOCOL,
    CareRequest,
    CareTask,
    Channel,
    Document,
    EmergencyChecklistItem,
    ErasureRequest,
    Guardianship,
    HealthDataConsent,
    InsuranceCoverage,
    MedicalProfile,
    Patient,
    SharingConsent,
)
from tests.factories import UserFactory

#: The smallest file every reader accepts as a PDF.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe"
    b"\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)

VALID_NIR = "295109912611193"  # female, born October 1995
VALID_CORSICAN_NIR = "186022A21532523"  # male, born February 1986, Corsica
INVALID_NIR = "295109912611199"  # wrong key


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    last_name = factory.Faker("last_name", locale="fr_FR")
    first_names = factory.Faker("first_name_female", locale="fr_FR")
    birth_date = factory.Faker("date_of_birth", minimum_age=20, maximum_age=85)
    sex = Patient.Sex.FEMALE
    email = factory.Sequence(lambda n: f"patient{n}@example.fr")
    mobile_phone = factory.Sequence(lambda n: f"+336{n % 100_000_000:08d}")
    address_line = factory.Faker("street_address", locale="fr_FR")
    postal_code = "75013"
    city = "Paris"
    country = "FR"
    registration_channel = Channel.PORTAL

    class Params:
        consented = factory.Trait(
            health_data_consent=factory.RelatedFactory(
                "tests.patients.factories.HealthDataConsentFactory",
                factory_related_name="patient",
            )
        )
        with_profile = factory.Trait(
            profile=factory.RelatedFactory(
                "tests.patients.factories.MedicalProfileFactory",
                factory_related_name="patient",
            )
        )
        minor = factory.Trait(
            birth_date=factory.LazyFunction(
                lambda: timezone.localdate() - datetime.timedelta(days=365 * 8)
            ),
            email="",
        )


class HealthDataConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthDataConsent

    patient = factory.SubFactory(PatientFactory)
    notice_version = factory.LazyFunction(lambda: settings.PRIVACY_NOTICE_VERSION)
    channel = Channel.PORTAL
    given_by = factory.LazyAttribute(lambda o: o.patient.user)


class MedicalProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MedicalProfile

    patient = factory.SubFactory(PatientFactory, consented=True)
    medical_history = "Appendicectomie en 2009. Asthme depuis l'enfance."
    allergies = "Pénicilline : urticaire géante."
    current_treatments = "Ventoline 100 µg à la demande."
    specific_needs = "Fauteuil roulant pour les longues distances."
    measurements = factory.LazyFunction(lambda: {"height_cm": 168, "weight_kg": 61})


class InsuranceCoverageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsuranceCoverage

    patient = factory.SubFactory(PatientFactory)
    regime = InsuranceCoverage.Regime.GENERAL
    fund_name = "CPAM de Paris"
    treating_doctor_declared = True
    treating_doctor_name = "Dr Anne Lambert"
    mutuelle_name = "Mutuelle Générale"
    mutuelle_contract_number = factory.Sequence(lambda n: f"MG-{n:06d}")
    coverage_rate = Decimal("200.00")
    optam_overrun_rate = Decimal("100.00")
    non_optam_overrun_rate = Decimal("80.00")
    contrat_responsable = True
    yearly_cap_overruns = Decimal("500.00")
    valid_from = datetime.date(2026, 1, 1)


class DocumentFactory(factory.django.DjangoModelFactory):
    """A document whose encrypted file really exists in the storage."""

    class Meta:
        model = Document
        exclude = ["content"]

    patient = factory.SubFactory(PatientFactory, consented=True)
    kind = Document.Kind.RESULTS
    title = "Bilan sanguin"
    document_date = datetime.date(2026, 3, 2)
    source = "Laboratoire Cerballiance"
    origin = Channel.PORTAL
    original_name = "bilan.pdf"
    content = PDF_BYTES
    content_type = "application/pdf"
    size = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: files.digest(o.content))
    storage_name = factory.LazyAttribute(
        lambda o: files.store_encrypted(data=o.content, folder=str(o.patient.pk))
    )


class GuardianshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardianship

    guardian = factory.SubFactory(UserFactory, role=Role.PATIENT)
    patient = factory.SubFactory(PatientFactory, minor=True)
    relationship = Guardianship.Relationship.PARENT


class SharingConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SharingConsent

    patient = factory.SubFactory(PatientFactory, consented=True)
    recipient = factory.SubFactory(UserFactory, role=Role.PRACTITIONER)
    document = None
    granted_by = factory.LazyAttribute(lambda o: o.patient.user)


class ErasureRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ErasureRequest

    patient = factory.SubFactory(PatientFactory, consented=True)
    requested_by = factory.LazyAttribute(lambda o: o.patient.user)
    message = "Je ne souhaite plus utiliser le service."


# --- Care requests ------------------------------------------------------------------
class CareRequestFactory(factory.django.DjangoModelFactory):
    """`CareRequestFactory(patient=…, state="matching")`: a request in any state."""

    class Meta:
        model = CareRequest
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory, consented=True)
    requested_by = factory.LazyAttribute(lambda o: o.patient.user)
    kind = CareRequest.Kind.SPECIALIST
    channel = CareRequest.IntakeChannel.PORTAL
    need = "Des plaques rouges qui grattent sur les bras depuis un mois."
    suggested_specialty = "dermatology"
    specialty = "dermatology"
    urgency = "routine"
    place_postal_code = "75013"
    place_commune = "Paris"
    state = CareRequest.State.RECEIVED

    @factory.post_generation
    def protocol(obj, create, extracted, **kwargs):
        """`protocol="open"`: the emergency checklist; `"done"`: every step ticked."""
        if not create or not extracted:
            return
        done = extracted == "done"
        for position, (code, _label, _required) in enumerate(EMERGENCY_PROTOCOL):
            EmergencyChecklistItem.objects.create(
                care_request=obj,
                code=code,
                position=position,
                checked_at=timezone.now() if done else None,
            )


class EmergencyChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmergencyChecklistItem

    care_request = factory.SubFactory(CareRequestFactory, state="emergency")
    code = "call_patient"


class CareTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTask

    care_request = factory.SubFactory(CareRequestFactory)
    kind = CareTask.Kind.TRANSPORT
    title = "Taxi aller-retour"
