"""Pictures of the patient portal's main pages on a desktop screen (1280 px) and
on a phone (375 px), in French.

`UPDATE_SCREENSHOTS=1` writes them to docs/screenshots/portal-*.png, which the
README and docs/portal.md show; otherwise they go to a temporary folder, so that
the suite still proves every page renders at both widths.
"""

import os
import struct
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.test_accessibility import (
    DESKTOP,
    PHONE,
    build_portal_scene,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"desktop": DESKTOP, "mobile": PHONE}


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def folder(tmp_path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def png_width(path: Path) -> int:
    """The width written in a PNG's header (IHDR, right after the signature)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", header[16:20])[0]


def test_screenshots_of_the_main_portal_pages(page, live_server, folder):
    scene = build_portal_scene()
    sign_in(page, live_server, scene.user)
    pages = {
        "dashboard": reverse("dashboard"),
        "patient-file": reverse(
            "patients:detail", kwargs={"reference": scene.patient.reference}
        ),
        "care-request": scene.care_request.get_absolute_url(),
        "booking": reverse(
            "appointments:proposal", kwargs={"public_id": scene.proposal.public_id}
        ),
        "invoice": scene.invoice.get_absolute_url(),
        "reimbursement": reverse("reimbursements:index"),
        "device-check": reverse("teleconsult:device-check"),
    }
    written = []
    for width_name, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        for name, url in pages.items():
            page.goto(url)
            page.wait_for_load_state("load")
            if name == "device-check":
                page.locator("#start-check").click()
                for check in ("camera", "microphone", "connection"):
                    expect(page.locator(f'[data-check="{check}"]')).to_have_attribute(
                        "data-status", "pass"
                    )
            path = folder / f"portal-{name}-{width_name}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            assert png_width(path) == viewport["width"], path
            written.append(path)
    assert len(written) == 2 * len(pages)
