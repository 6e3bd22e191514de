from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _crud(*models: str, delete: bool = False) -> list[str]:
    actions = ["view", "add", "change"] + (["delete"] if delete else [])
    return [f"{action}_{model}" for model in models for action in actions]


_READ = [
    "view_appointment",
    "view_appointmentevent",
    "view_slotproposal",
    "view_proposedslot",
    "view_waitlistentry",
    "view_waitlistoffer",
    "view_noshowflag",
    "view_calendarfeed",
    "view_reportrequest",
    "view_pharmacy",
    "view_pharmacychoice",
    "view_satisfactionsurvey",
]
_BOOKING = [
    "add_appointment",
    "change_appointment",
    "book_appointment",
    "record_outcome",
    "add_slotproposal",
    "change_slotproposal",
    "change_noshowflag",
    "change_calendarfeed",
    *_crud("pharmacy", "pharmacychoice"),
]


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments, reminders and follow-up")

    def ready(self) -> None:
        from specialists import answer_cache

        from . import care
        from .models import Appointment

        care.register()
        # Bookings, holds, moves and cancellations change the free slots.
        answer_cache.slots.connect(Appointment, scope_of=answer_cache.practitioner_of)

    # Coordinators and advisers book and follow up; medical advisers alone handle
    # what carries health data (the pre-consultation file, prescriptions).
    role_permissions = {
        "medical_adviser": [
            *_READ,
            *_BOOKING,
            "view_preconsultationshare",
            "add_preconsultationshare",
            "change_preconsultationshare",
            "view_prescriptiontransmission",
            "add_prescriptiontransmission",
            "moderate_survey",
        ],
        "care_coordinator": [
            *_READ,
            *_BOOKING,
            "view_preconsultationshare",
            "view_prescriptiontransmission",
        ],
        "manager": [
            *_READ,
            "change_noshowflag",
            "view_preconsultationshare",
            "view_prescriptiontransmission",
            "moderate_survey",
        ],
    }
