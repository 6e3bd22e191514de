"""Technical help: tickets from the device check, and phone calls when the video
server cannot be reached."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User

from .. import tasks
from ..models import SupportTicket

CHECKS = ("camera", "microphone", "speaker", "connection")
STATUSES = ("pass", "fail", "skipped")


def clean_check_results(raw: object) -> dict:
    """Keep only the known checks with a known status and a short detail."""
    if not isinstance(raw, dict):
        raise ValidationError(
            _("The device check results are unreadable."), code="invalid"
        )
    results = {}
    for name in CHECKS:
        entry = raw.get(name)
        if not isinstance(entry, dict) or entry.get("status") not in STATUSES:
            continue
        results[name] = {
            "status": entry["status"],
            "detail": str(entry.get("detail", ""))[:200],
        }
    return results


@transaction.atomic
def open_support_ticket(
    *, user: User, check_results: object, message: str = "", user_agent: str = ""
) -> SupportTicket:
    """Record the request for help; the concierge on duty is alerted after commit."""
    ticket = SupportTicket(
        opened_by=user,
        message=message.strip()[:2000],
        check_results=clean_check_results(check_results),
        user_agent=user_agent[:300],
    )
    ticket.full_clean()
    ticket.save()
    tasks.alert_on_duty_concierge.delay_on_commit(ticket.pk)
    return ticket


@transaction.atomic
def resolve_support_ticket(
    *, ticket: SupportTicket, by: User, resolution: str = ""
) -> SupportTicket:
    """Close a ticket once; closing it again changes nothing."""
    ticket = SupportTicket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.handled_at is None:
        ticket.handled_at = timezone.now()
        ticket.handled_by = by
        ticket.resolution = resolution
        ticket.save(
            update_fields=["handled_at", "handled_by", "resolution", "updated_at"]
        )
    return ticket


def alert_on_duty_concierge(*, ticket_id: int) -> None:
    """Email the on-duty address who needs help and what failed; nothing medical."""
    ticket = SupportTicket.objects.select_related(
        "opened_by", "session__appointment__patient"
    ).get(pk=ticket_id)
    link = settings.SITE_URL + reverse(
        "admin:teleconsult_supportticket_change", args=[ticket.pk]
    )
    if ticket.kind == SupportTicket.Kind.PHONE_FALLBACK and ticket.session:
        appointment = ticket.session.appointment
        send_mail(
            subject=_("Teleconsultation: call the patient now"),
            message=_(
                "The video server cannot be reached: call %(patient)s (%(phone)s) "
                "for their teleconsultation of %(when)s.\n%(link)s"
            )
            % {
                "patient": appointment.patient.reference,
                "phone": ticket.phone or _("no number on file"),
                "when": timezone.localtime(appointment.starts_at).strftime("%H:%M"),
                "link": link,
            },
            from_email=None,
            recipient_list=[settings.ON_DUTY_EMAIL],
        )
        return
    failed = ", ".join(ticket.failed_checks) or _("none")
    who = ticket.opened_by.email if ticket.opened_by else ticket.phone
    send_mail(
        subject=_("Teleconsultation: technical help requested"),
        message=_(
            "%(user)s asks for technical help before a teleconsultation.\n"
            "Failed checks: %(failed)s\n%(link)s"
        )
        % {"user": who, "failed": failed, "link": link},
        from_email=None,
        recipient_list=[settings.ON_DUTY_EMAIL],
    )
