from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_DIRECTORY = [
    "practitioner",
    "practiceplace",
    "openinghours",
    "consultationtype",
    "availabilityexception",
]
_CATALOGUE = ["specialty", "specialtyprocedure", "intakequestion"]


def _crud(*models: str, delete: bool = False) -> list[str]:
    actions = ["view", "add", "change"] + (["delete"] if delete else [])
    return [f"{action}_{model}" for model in models for action in actions]


class SpecialistsConfig(AppConfig):
    name = "specialists"
    verbose_name = _("Specialist directory, availability and matching")

    def ready(self) -> None:
        from . import answer_cache, catalogue
        from .models import (
            AvailabilityException,
            ConsultationType,
            OpeningHours,
            PracticePlace,
            Practitioner,
            Specialty,
        )

        catalogue.connect()
        answer_cache.slots.connect(
            Practitioner,
            PracticePlace,
            OpeningHours,
            ConsultationType,
            AvailabilityException,
            scope_of=answer_cache.practitioner_of,
        )
        answer_cache.searches.connect(
            Practitioner,
            PracticePlace,
            Specialty,
            Practitioner.specialties.through,
            scope_of=lambda instance: answer_cache.DIRECTORY,
        )

    role_permissions = {
        "medical_adviser": [
            *_crud(*_DIRECTORY),
            "delete_openinghours",
            "delete_availabilityexception",
            "view_specialty",
            "view_specialtyprocedure",
            "view_intakequestion",
            "view_verificationrecord",
            "add_verificationrecord",
            "verify_practitioner",
            "view_review",
            "change_review",
            "moderate_review",
            *_crud("shortlist", "shortlistentry"),
            "delete_shortlistentry",
            "publish_shortlist",
            "view_postalcode",
        ],
        "care_coordinator": [
            *_crud(*_DIRECTORY),
            "delete_openinghours",
            "delete_availabilityexception",
            "view_specialty",
            "view_specialtyprocedure",
            "view_intakequestion",
            "view_verificationrecord",
            "view_review",
            *_crud("shortlist", "shortlistentry"),
            "delete_shortlistentry",
            "publish_shortlist",
            "view_postalcode",
        ],
        "manager": [
            *_crud(*_DIRECTORY, delete=True),
            *_crud(*_CATALOGUE, delete=True),
            "view_verificationrecord",
            "add_verificationrecord",
            "verify_practitioner",
            "view_review",
            "change_review",
            "moderate_review",
            *_crud("shortlist", "shortlistentry", delete=True),
            "publish_shortlist",
            "view_postalcode",
        ],
    }
