from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_FILE = ["view_patient", "add_patient", "change_patient"]
_INSURANCE = [
    "view_insurancecoverage",
    "add_insurancecoverage",
    "change_insurancecoverage",
]
_GUARDIANS = ["view_guardianship", "add_guardianship", "change_guardianship"]
_CONSENTS = ["view_healthdataconsent", "add_healthdataconsent", "view_sharingconsent"]
_ERASURE = ["view_erasurerequest", "change_erasurerequest"]


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = _("Patients, their health data, consents and care requests")
    # Coordinators organise care without reading medical data; managers read what
    # billing needs. Medical data (profile, documents) is for medical advisers.
    role_permissions = {
        "medical_adviser": [
            *_FILE,
            *_INSURANCE,
            *_GUARDIANS,
            *_CONSENTS,
            *_ERASURE,
            "view_medicalprofile",
            "add_medicalprofile",
            "change_medicalprofile",
            "view_document",
            "add_document",
            "change_document",
            "delete_document",
        ],
        "care_coordinator": [*_FILE, *_INSURANCE, *_GUARDIANS, *_CONSENTS, *_ERASURE],
        "manager": [
            "view_patient",
            "view_insurancecoverage",
            "view_healthdataconsent",
            "view_erasurerequest",
        ],
    }
