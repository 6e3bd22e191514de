"""Celery entry points of the patients app: thin, safe to run twice."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from . import services


@shared_task(acks_late=True)
def purge_expired_medical_records() -> dict[str, int]:
    """Daily: end parents' rights at majority, purge records past retention,
    remove stored files no document points to."""
    ended = services.end_guardianships_of_adults()
    purged = services.purge_expired_medical_records()
    orphans = services.sweep_orphan_files()
    return {"guardianships_ended": ended, "files_purged": purged, "orphans": orphans}


@shared_task(
    acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def notify_erasure_request(erasure_id: str) -> None:
    """Tell the concierge team that an erasure request waits (no health data)."""
    from .models import ErasureRequest

    erasure = (
        ErasureRequest.objects.select_related("patient").filter(pk=erasure_id).first()
    )
    if erasure is None:
        return
    link = settings.SITE_URL + reverse(
        "admin:patients_erasurerequest_change", args=[erasure.pk]
    )
    with translation.override("fr"):
        body = render_to_string(
            "patients/email/erasure_request_staff.txt",
            {"reference": erasure.patient.reference, "link": link},
        )
        send_mail(
            translation.gettext("Erasure request %(reference)s")
            % {"reference": erasure.patient.reference},
            body,
            None,
            [settings.SERVICE_EMAIL],
        )


@shared_task(
    acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def send_erasure_outcome(erasure_id: str, email: str, language: str = "fr") -> None:
    """Tell the patient what was erased and kept, and why (or why it was refused).

    The address is passed in: after an erasure it is no longer in the database.
    """
    from .models import ErasureRequest

    erasure = (
        ErasureRequest.objects.select_related("patient").filter(pk=erasure_id).first()
    )
    if erasure is None:
        return
    with translation.override(language or "fr"):
        context = {
            "erasure": erasure,
            "reference": erasure.patient.reference,
            "outcome": services.gdpr.describe_outcome(erasure.outcome),
            "SERVICE_NAME": settings.SERVICE_NAME,
            "SERVICE_EMAIL": settings.SERVICE_EMAIL,
        }
        body = render_to_string("patients/email/erasure_outcome.txt", context)
        send_mail(
            translation.gettext("Your erasure request"),
            body,
            None,
            [email],
        )


# Events left unannounced are found again by announce_pending_care_request_events.
@shared_task(acks_late=True, park_when_unpublished=False)
def announce_care_request_event(event_id: int) -> None:
    """Side effects of one care request event (emails, webhooks, on-duty alert)."""
    services.care_requests.announce_event(event_id=event_id)


@shared_task(acks_late=True)
def announce_pending_care_request_events() -> int:
    """Every 2 minutes: events whose task was lost get their side effects."""
    return services.care_requests.announce_pending_events()


@shared_task(acks_late=True)
def alert_sla_breaches() -> int:
    """Every 5 minutes: alert once per missed care request deadline."""
    return services.care_team.detect_sla_breaches()
