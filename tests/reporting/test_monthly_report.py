"""The monthly activity report: a real PDF with the figures, mailed to managers."""

import shutil
import subprocess
from datetime import date

import pytest
from django.conf import settings
from django.core import mail

from conciergerie.accounts.roles import Role
from conciergerie.reporting import kpis, report, tasks
from tests.factories import UserFactory
from tests.reporting.conftest import MARCH

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils: scripts/system-deps.sh"
)


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_the_report_is_a_pdf_with_the_figures_and_their_definitions(
    march_requests, tmp_path
):
    data = report.render_monthly_report(MARCH, language="fr")

    assert data.startswith(b"%PDF-")
    text = " ".join(pdf_text(data, tmp_path).split())
    assert "Rapport d'activité, mars 2026" in text
    # Five requests received in March (see conftest.py); first answers 2.5 h
    # median and 3.7 h at the 90th percentile.
    assert "Demandes par état" in text
    assert "médiane 2,5 h, 90e centile 3,7 h, 4 demandes" in text
    assert "Définition" in text


def test_managers_receive_last_months_report_as_an_attachment(
    march_requests, mailoutbox, tmp_path
):
    french = UserFactory(
        email="direction@conciergerie.example", first_name="Hélène", role=Role.MANAGER
    )
    english = UserFactory(
        email="ops@conciergerie.example", role=Role.MANAGER, language="en"
    )
    UserFactory(
        email="retired@conciergerie.example", role=Role.MANAGER, is_active=False
    )
    UserFactory(email="coord@conciergerie.example", role=Role.CARE_COORDINATOR)

    sent = report.send_monthly_report(today=date(2026, 4, 1))

    assert sent == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted([english.email, french.email])
    mail = next(m for m in mailoutbox if m.to == [french.email])
    assert "mars 2026" in mail.subject
    assert "Hélène" in mail.body
    assert "/admin/dashboard/?start=2026-03-01&end=2026-03-31" in mail.body
    [(name, data, mimetype)] = mail.attachments
    assert (name, mimetype) == ("activite-2026-03.pdf", "application/pdf")
    assert "Demandes par état" in pdf_text(data, tmp_path)
    english_mail = next(m for m in mailoutbox if m.to == [english.email])
    assert "Requests by state" in pdf_text(english_mail.attachments[0][1], tmp_path)


def test_the_task_is_scheduled_on_the_first_of_the_month(manager):
    entry = settings.CELERY_BEAT_SCHEDULE["reporting-send-monthly-report"]

    assert entry["task"] == tasks.send_monthly_report.name
    assert entry["schedule"].day_of_month == {1}
    assert tasks.send_monthly_report.delay().get() == 1
    # Read after the task: the eager run leaves a new list in `mail.outbox`.
    assert [m.to for m in mail.outbox] == [[manager.email]]


def test_the_report_period_is_the_previous_calendar_month():
    assert kpis.previous_month(today=date(2026, 1, 1)) == kpis.Filters(
        start=date(2025, 12, 1), end=date(2025, 12, 31)
    )
