"""The monthly activity report: the dashboard of last month as a PDF, emailed to
every manager on the first of the month (beat: `reporting-send-monthly-report`)."""

from __future__ import annotations

import base64
import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.notifications.channels import EmailChannel
from conciergerie.notifications.services import render_message

from . import dashboard, kpis

logger = logging.getLogger(__name__)

EMAIL_TEMPLATE = "reporting/email/monthly_report"


def _svg_as_image(svg: str) -> str:
    """A chart as a data URL, which WeasyPrint draws like any image."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def period_label(filters: kpis.Filters) -> str:
    return date_format(filters.start, "F Y")


def render_monthly_report(filters: kpis.Filters, *, language: str) -> bytes:
    """The figures of the period as a PDF, in `language`."""
    from weasyprint import HTML

    with translation.override(language):
        panels = dashboard.build(filters)
        html = render_to_string(
            "reporting/pdf/monthly_report.html",
            {
                "filters": filters,
                "period": period_label(filters),
                "panels": [
                    {"panel": panel, "image": _svg_as_image(panel.chart or "")}
                    for panel in panels
                ],
                "generated_at": timezone.now(),
                "service_name": settings.SERVICE_NAME,
            },
        )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def report_filename(filters: kpis.Filters) -> str:
    return f"activite-{filters.start:%Y-%m}.pdf"


def send_monthly_report(*, today: datetime.date | None = None) -> int:
    """Email last month's report to every active manager; answers how many got it.

    One PDF per language. Each email carries a Message-ID derived from the month
    and the manager, so that a task run twice is dropped by the mail provider
    like a repeated outbox message.
    """
    filters = kpis.previous_month(today=today)
    managers = User.objects.with_role(Role.MANAGER).filter(is_active=True)
    by_language: dict[str, list[User]] = defaultdict(list)
    for manager in managers.order_by("email"):
        language = manager.language or settings.LANGUAGE_CODE
        by_language[language].append(manager)
    dashboard_url = (
        settings.SITE_URL
        + reverse("admin:reporting_dashboard")
        + f"?start={filters.start:%Y-%m-%d}&end={filters.end:%Y-%m-%d}"
    )
    sent = 0
    for language, recipients in by_language.items():
        pdf = render_monthly_report(filters, language=language)
        with translation.override(language):
            period = period_label(filters)
        for manager in recipients:
            key = f"reporting.monthly:{filters.start:%Y-%m}:{manager.pk}"
            rendered = render_message(
                channel="email",
                template=EMAIL_TEMPLATE,
                context={
                    "first_name": manager.first_name,
                    "period": period,
                    "dashboard_url": dashboard_url,
                },
                language=language,
            )
            email = EmailMultiAlternatives(
                subject=rendered.subject,
                body=rendered.text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[manager.email],
                headers={
                    "Message-ID": EmailChannel.message_id(key),
                    "Auto-Submitted": "auto-generated",
                },
            )
            if rendered.html:
                email.attach_alternative(rendered.html, "text/html")
            email.attach(report_filename(filters), pdf, "application/pdf")
            email.send()
            sent += 1
    logger.info("Monthly report of %s sent to %d managers", filters.start, sent)
    return sent
