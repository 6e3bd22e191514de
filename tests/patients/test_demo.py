"""The demo seed builds realistic files once and is safe to run again."""

from io import StringIO

from conciergerie import demo as kernel_demo
from patients import demo, services
from patients.models import Document, Guardianship, MedicalProfile, Patient
from patients.validators import nir_conflicts, validate_nir


def test_the_demo_seed_creates_families_insurance_profiles_and_documents(db):
    kernel_demo.seed(stdout=StringIO())

    demo.seed(stdout=StringIO())
    count = Patient.objects.count()
    demo.seed(stdout=StringIO())

    assert count >= 36
    assert Patient.objects.count() == count
    assert Guardianship.objects.count() >= 3
    assert MedicalProfile.objects.count() >= 20
    assert Document.objects.count() >= 10
    own = Patient.objects.get(user__email=demo.DEMO_PATIENT_EMAIL)
    assert own.current_insurance().ald
    assert Patient.objects.filter(duplicate_review_needed=True).exists()
    for patient in Patient.objects.exclude(nir_hash=""):
        validate_nir(patient.nir)  # every generated NIR has the right key
        assert not nir_conflicts(
            patient.nir, sex=patient.sex, birth_date=patient.birth_date
        )
    document = Document.objects.first()
    content = services.open_document(document=document, by=None)
    assert content.startswith((b"%PDF", b"\x89PNG"))
