"""Every user-facing string is translated into French; the catalogue is current."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
FRENCH = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
SOURCES = [
    "conciergerie",
    "patients",
    "specialists",
    "appointments",
    "teleconsult",
    "billing",
    "reimbursements",
    "templates",
    "locale",
    "manage.py",
]


def test_every_french_entry_is_translated_and_none_is_fuzzy():
    catalogue = polib.pofile(str(FRENCH))

    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]

    assert missing == []
    assert fuzzy == []


def test_the_catalogues_hold_every_string_of_the_code_and_templates(tmp_path):
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, tmp_path / name, ignore=shutil.ignore_patterns("*.mo")
            )
        else:
            shutil.copy(source, tmp_path / name)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "conciergerie.settings_test"}

    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "fr",
            "-l",
            "en",
            "--no-location",
            "-v",
            "0",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )

    for language in ("fr", "en"):
        committed = polib.pofile(
            str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po")
        )
        fresh = polib.pofile(
            str(tmp_path / "locale" / language / "LC_MESSAGES" / "django.po")
        )
        known = {(e.msgctxt, e.msgid) for e in committed if not e.obsolete}
        new = sorted(
            e.msgid
            for e in fresh
            if not e.obsolete and (e.msgctxt, e.msgid) not in known
        )
        assert new == [], f"{language}: run makemessages and translate: {new[:10]}"
