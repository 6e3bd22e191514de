"""Browser tests: Playwright drives Debian's Chromium against the live server."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM
# calls from such a thread unless told that the test knows what it does.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


# Accessibility: axe-core (bundled with axe-playwright-python) runs inside the page.
# The portal promises WCAG 2.1 AA; serious and critical findings fail the test.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_BLOCKING = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    """The serious and critical WCAG 2.1 A/AA violations of the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": AXE_TAGS},
            "resultTypes": ["violations"],
        },
    )
    return [
        violation
        for violation in results.response["violations"]
        if violation["impact"] in AXE_BLOCKING
    ]


def describe_violations(url: str, violations: list[dict]) -> str:
    """One readable paragraph per violation: rule, impact, help and the elements."""
    lines = []
    for violation in violations:
        lines.append(
            f"{url}: {violation['id']} ({violation['impact']}) {violation['help']}"
        )
        for node in violation["nodes"][:5]:
            target = ", ".join(str(part) for part in node["target"])
            lines.append(f"    {target}: {node['failureSummary'].splitlines()[-1]}")
    return "\n".join(lines)


@pytest.fixture
def axe():
    """Audit the current page with axe-core and fail on serious or critical issues.

    `axe(page)` asserts at once; `axe(page, collect=findings)` appends the
    report to the list instead, so that a test visiting many pages can list
    every page's violations in one failure.
    """

    def audit(page, *, collect: list[str] | None = None) -> list[dict]:
        page.wait_for_load_state("load")
        violations = axe_violations(page)
        if violations:
            report = describe_violations(page.url, violations)
            if collect is None:
                pytest.fail(report, pytrace=False)
            collect.append(report)
        return violations

    return audit
