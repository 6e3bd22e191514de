from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_FOLLOW = [
    "view_teleconsultationsession",
    "view_sessionevent",
    "view_shareddocument",
    "view_practitionerpass",
    "view_supportticket",
    "change_supportticket",
]


class TeleconsultationConfig(AppConfig):
    name = "teleconsult"
    verbose_name = _("Video teleconsultations")

    # Concierges follow the day's sessions and handle help tickets; advisers and
    # coordinators may also send a practitioner a new link.
    role_permissions = {
        "medical_adviser": [
            *_FOLLOW,
            "change_teleconsultationsession",
            "run_teleconsultation",
        ],
        "care_coordinator": [
            *_FOLLOW,
            "change_teleconsultationsession",
            "run_teleconsultation",
        ],
        "manager": list(_FOLLOW),
    }

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from appointments import outbox
        from appointments.models import Appointment

        from . import receivers

        post_save.connect(
            receivers.create_session_for_booking,
            sender=Appointment,
            dispatch_uid="teleconsult-session-for-booking",
        )
        outbox.register_context_provider(receivers.join_link_context)
