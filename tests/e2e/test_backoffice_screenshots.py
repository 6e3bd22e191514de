"""The back-office in Chromium, as a manager sees it after signing in with their
authenticator code: the dashboard, "my day" and a care request's page.

The pictures go to the test's temporary folder; with UPDATE_SCREENSHOTS=1 they
replace the ones of docs/screenshots/, shown in the README and docs/backoffice.md.
"""

import os
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import totp

from appointments.models import Appointment
from conciergerie.demo import DEMO_PASSWORD
from patients.models import CareRequest, CareRequestMessage
from tests.appointments.factories import AppointmentFactory, open_practitioner
from tests.patients.factories import CareTaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MANAGER = "manager@conciergerie.local"


@pytest.fixture
def screenshots(tmp_path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


@pytest.fixture
def demo(settings, tmp_path):
    """The demo service, and a day of work for its manager on top of it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=StringIO())
    from conciergerie.accounts.models import User

    manager = User.objects.get(email=MANAGER)
    now = timezone.now()
    open_requests = list(
        CareRequest.objects.open().exclude(state="emergency").order_by("created_at")[:4]
    )
    for care_request in open_requests:
        CareRequest.objects.filter(pk=care_request.pk).update(assigned_to=manager)
    late = open_requests[0]
    CareRequest.objects.filter(pk=late.pk).update(
        first_response_due_at=now - timedelta(hours=2), first_response_at=None
    )
    CareRequestMessage.objects.create(
        care_request=late,
        side=CareRequestMessage.Side.PATIENT,
        body="Bonjour, avez-vous pu trouver un créneau ?",
    )
    CareTaskFactory(
        care_request=open_requests[1],
        owner=manager,
        title="Réserver le taxi du retour",
        due_at=now + timedelta(minutes=30),
    )
    practitioner = open_practitioner()
    today = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    for hours, mode, care_request in [
        (1, Appointment.Mode.IN_PERSON, open_requests[1]),
        (2, Appointment.Mode.VIDEO, open_requests[2]),
    ]:
        AppointmentFactory(
            practitioner=practitioner,
            patient=care_request.patient,
            care_request=care_request,
            mode=mode,
            place=practitioner.places.first() if mode == "in_person" else None,
            starts_at=today + timedelta(hours=hours) if today.hour < 21 else today,
        )
    return {"manager": manager, "request": late}


def sign_in_with_code(page, user) -> None:
    device = user.totpdevice_set.get()
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    page.goto("/admin/login/?next=/admin/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.fill("input[name=otp_token]", code)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url("**/admin/")


def test_screenshots_of_the_dashboard_my_day_and_a_request(page, demo, screenshots):
    page.set_viewport_size({"width": 1440, "height": 1000})
    sign_in_with_code(page, demo["manager"])

    assert page.get_by_role("link", name="Tableau de bord").is_visible()
    page.goto("/admin/dashboard/")
    assert page.locator("svg.chart").count() == 11
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    page.goto("/admin/my-day/")
    assert page.get_by_text(demo["request"].reference).first.is_visible()
    assert page.get_by_text("Téléconsultation").first.is_visible()
    page.screenshot(path=str(screenshots / "my-day.png"), full_page=True)

    page.goto(f"/admin/patients/carerequest/{demo['request'].pk}/change/")
    page.screenshot(path=str(screenshots / "care-request-admin.png"), full_page=True)

    for name in ("dashboard.png", "my-day.png", "care-request-admin.png"):
        assert (screenshots / name).read_bytes().startswith(b"\x89PNG")
