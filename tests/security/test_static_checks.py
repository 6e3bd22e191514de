"""The application code passes the Python security linters.

Ruff's security rules ("S") run in `make lint`; bandit runs here so that a new
medium or high finding fails the suite. An accepted finding carries its reason
inline: `# noqa: Sxxx - reason  # nosec Bxxx`.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = [
    "conciergerie",
    "patients",
    "specialists",
    "appointments",
    "teleconsult",
    "billing",
    "reimbursements",
]


def test_bandit_finds_no_medium_or_high_issue_in_the_apps():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bandit",
            "-q",
            "-c",
            "pyproject.toml",
            "-r",
            *APPS,
            "-ll",
            "-f",
            "custom",
            "--msg-template",
            "{relpath}:{line} {test_id} {msg}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout


def test_ruff_security_rules_are_enabled():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lint = config["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    # Only the rule that pytest's own assertions trip is switched off globally.
    assert set(lint.get("ignore", [])) <= {"S101"}
