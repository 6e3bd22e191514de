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
# Care requests: everybody in the back-office works on them; the role rules of
# each step are in patients.models (STAFF_TRANSITION_ROLES).
_CARE = [
    "view_carerequest",
    "add_carerequest",
    "change_carerequest",
    "view_carerequestevent",
    "view_emergencychecklistitem",
    "change_emergencychecklistitem",
    "view_caretask",
    "add_caretask",
    "change_caretask",
    "view_internalnote",
    "add_internalnote",
    "view_carerequestmessage",
    "add_carerequestmessage",
    "view_interaction",
    "add_interaction",
    "view_slabreach",
    "view_careplan",
    "add_careplan",
    "change_careplan",
    "view_careplanstep",
    "add_careplanstep",
    "change_careplanstep",
    "delete_careplanstep",
]


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
            *_CARE,
            # The need in the patient's words, the answers and what came with them.
            "read_care_request_need",
        ],
        "care_coordinator": [
            *_FILE,
            *_INSURANCE,
            *_GUARDIANS,
            *_CONSENTS,
            *_ERASURE,
            *_CARE,
        ],
        "manager": [
            "view_patient",
            "view_insurancecoverage",
            "view_healthdataconsent",
            "view_erasurerequest",
            *_CARE,
        ],
    }
