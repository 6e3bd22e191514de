"""Personas and clients shared by every test."""

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from oauth2_provider.models import AccessToken
from rest_framework.test import APIClient

from conciergerie.accounts.roles import Role
from tests.factories import ApplicationFactory, TOTPDeviceFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and throttles live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def patient_user(db):
    return UserFactory(email="camille.petit@example.fr", role=Role.PATIENT)


@pytest.fixture
def other_patient_user(db):
    return UserFactory(email="lucas.moreau@example.fr", role=Role.PATIENT)


@pytest.fixture
def patient(patient_user):
    """Camille's own file, with her consent to the processing of health data."""
    from tests.patients.factories import PatientFactory

    return PatientFactory(
        user=patient_user,
        last_name="Petit",
        first_names="Camille",
        email=patient_user.email,
        consented=True,
    )


@pytest.fixture
def other_patient(other_patient_user):
    """Lucas's own file, with his consent: someone Camille must never see."""
    from tests.patients.factories import PatientFactory

    return PatientFactory(
        user=other_patient_user,
        last_name="Moreau",
        first_names="Lucas",
        sex="male",
        email=other_patient_user.email,
        consented=True,
    )


@pytest.fixture
def practitioner_user(db):
    return UserFactory(email="dr.leroy@example.fr", role=Role.PRACTITIONER)


@pytest.fixture
def adviser(db):
    return UserFactory(email="adviser@example.fr", role=Role.MEDICAL_ADVISER)


@pytest.fixture
def coordinator(db):
    return UserFactory(email="coordinator@example.fr", role=Role.CARE_COORDINATOR)


@pytest.fixture
def manager(db):
    return UserFactory(email="manager@example.fr", role=Role.MANAGER)


@pytest.fixture
def partner_client(db):
    """A partner clinic's OAuth2 application (client credentials)."""
    return ApplicationFactory(name="Clinique du Parc")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def partner_token():
    """Issue an access token for an application with the given scopes."""
    from datetime import timedelta

    from django.utils import timezone

    def issue(application, scopes: str) -> AccessToken:
        return AccessToken.objects.create(
            application=application,
            token=f"token-{application.pk}-{scopes.replace(' ', '-')}",
            scope=scopes,
            expires=timezone.now() + timedelta(hours=1),
        )

    return issue


@pytest.fixture
def staff_client(client):
    """Log a staff member into the back-office with a verified second factor."""

    def login(user):
        device = user.totpdevice_set.first() or TOTPDeviceFactory(user=user)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return login


def pytest_addoption(parser):
    parser.addoption(
        "--proof",
        action="store_true",
        default=False,
        help="Run the full-size proofs (thousands of messages, fuzzing, load).",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "proof: a full-size proof, run by `make proof` only"
    )


def pytest_collection_modifyitems(config, items):
    _restore_reference_data_after_transactional_tests(items)
    if config.getoption("--proof"):
        return
    skip = pytest.mark.skip(reason="full-size proof: run with `make proof`")
    for item in items:
        if "proof" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def proof_scale(request):
    """Pick the bounded size in `make test`, the full size in `make proof`."""

    def scale(bounded: int, full: int) -> int:
        return full if request.config.getoption("--proof") else bounded

    return scale


def _restore_reference_data_after_transactional_tests(items):
    """Transactional tests end with a flush of every table, which would also wipe
    the reference rows that data migrations load (specialties, tariffs, the
    service catalogue). Serialized rollback puts them back after each such test."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None:
            options = dict(marker.kwargs)
            if not (options.get("transaction") or (marker.args and marker.args[0])):
                continue
            options.update(transaction=True, serialized_rollback=True)
        elif {"transactional_db", "live_server"} & set(item.fixturenames):
            options = {"transaction": True, "serialized_rollback": True}
        else:
            continue
        item.add_marker(pytest.mark.django_db(**options), append=False)


#: The data migrations whose rows every test may rely on: (model that proves the
#: rows are there, migration module, function).
REFERENCE_DATA = [
    ("auth.Group", "conciergerie.accounts.migrations.0002_roles", "create_roles"),
    ("billing.VatRate", "billing.migrations.0004_seed_catalogue", "seed"),
    (
        "specialists.Specialty",
        "specialists.migrations.0004_specialty_catalogue",
        "load",
    ),
    (
        "reimbursements.ActTariff",
        "reimbursements.migrations.0003_reference_tariffs",
        "load_reference_tariffs",
    ),
    (
        "procedures.Procedure",
        "conciergerie.procedures.migrations.0002_seed_procedures",
        "seed",
    ),
]


@pytest.fixture(autouse=True)
def _reference_data_present(request):
    """Serialized rollback restores reference rows at the start of the next
    transactional test, but not every ordering of fixtures lets it run first (a
    live server thread or a session-wide fixture may read the database before).
    Put back what a flush took, from the same functions the migrations run."""
    if not ({"transactional_db", "live_server"} & set(request.fixturenames)):
        marker = request.node.get_closest_marker("django_db")
        if marker is None or not marker.kwargs.get("transaction"):
            return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps
    from django.core.management.sql import emit_post_migrate_signal

    missing = [
        (module, function)
        for label, module, function in REFERENCE_DATA
        if not apps.get_model(label).objects.exists()
    ]
    roles_have_rights = apps.get_model("auth.Group").permissions.through.objects
    if not missing and roles_have_rights.exists():
        return
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    for module, function in missing:
        getattr(import_module(module), function)(apps, None)
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
