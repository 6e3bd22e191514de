"""Procedures library: managers write versioned procedures, every member of staff
acknowledges the version in force, managers see who has not read it yet."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from conciergerie.accounts.roles import Role
from conciergerie.procedures import services
from conciergerie.procedures.models import Acknowledgement, Procedure
from tests.factories import UserFactory


@pytest.fixture
def emergency(db):
    return Procedure.objects.select_related("current_version").get(
        slug="protocole-urgence"
    )


def test_the_emergency_protocol_and_secrecy_note_are_seeded(emergency):
    assert emergency.kind == Procedure.Kind.PROTOCOL
    assert "15" in emergency.current_version.body
    assert "112" in emergency.current_version.body
    assert Procedure.objects.filter(slug="secret-medical").exists()


def test_each_edit_publishes_a_new_version_and_keeps_the_old(emergency, manager):
    first = emergency.current_version

    second = services.publish_version(
        procedure=emergency,
        title=first.title,
        body=first.body + "\n8. Prévenir le responsable.",
        change_note="Étape 8 ajoutée",
        by=manager,
    )

    emergency.refresh_from_db()
    assert second.number == first.number + 1
    assert emergency.current_version == second
    assert emergency.versions.count() == 2
    first.refresh_from_db()
    assert "8." not in first.body


def test_an_edit_that_changes_nothing_publishes_nothing(emergency, manager):
    version = emergency.current_version

    same = services.publish_version(
        procedure=emergency, title=version.title, body=version.body, by=manager
    )

    assert same == version
    assert emergency.versions.count() == 1


def test_only_managers_write(emergency, coordinator, adviser):
    for user in (coordinator, adviser):
        with pytest.raises(PermissionDenied):
            services.publish_version(procedure=emergency, title="x", body="y", by=user)
        with pytest.raises(PermissionDenied):
            services.create_procedure(kind="checklist", title="x", body="y", by=user)


def test_a_new_procedure_needs_a_text(manager):
    with pytest.raises(ValidationError):
        services.create_procedure(
            kind="checklist", title="Accueil", body=" ", by=manager
        )

    procedure = services.create_procedure(
        kind="checklist", title="Accueil d'un nouveau patient", body="1. …", by=manager
    )
    assert procedure.slug == "accueil-dun-nouveau-patient"
    assert procedure.current_version.number == 1


def test_acknowledging_counts_once_per_version_and_a_new_version_asks_again(
    emergency, coordinator, manager
):
    services.acknowledge(procedure=emergency, user=coordinator)
    services.acknowledge(procedure=emergency, user=coordinator)
    assert Acknowledgement.objects.filter(user=coordinator).count() == 1
    assert emergency not in services.pending_for(coordinator)

    services.publish_version(
        procedure=emergency,
        title="Protocole d'urgence",
        body="Nouveau texte",
        by=manager,
    )
    emergency.refresh_from_db()

    assert emergency in services.pending_for(coordinator)


def test_managers_see_who_has_not_read_the_current_version(
    emergency, coordinator, adviser, manager
):
    services.acknowledge(procedure=emergency, user=coordinator)

    pending = dict(services.pending_acknowledgements())

    missing = pending[emergency]
    assert coordinator not in missing
    assert adviser in missing
    assert manager in missing


def test_patients_cannot_acknowledge(emergency, patient_user):
    with pytest.raises(PermissionDenied):
        services.acknowledge(procedure=emergency, user=patient_user)


# --- Admin ----------------------------------------------------------------------------


def test_staff_read_and_acknowledge_from_the_admin(staff_client, emergency):
    coordinator = UserFactory(role=Role.CARE_COORDINATOR)
    client = staff_client(coordinator)
    url = reverse("admin:procedures_procedure_acknowledge", args=[emergency.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert "112" in page.content.decode()
    assert client.post(url).status_code == 302

    assert Acknowledgement.objects.filter(
        user=coordinator, version=emergency.current_version
    ).exists()
    changelist = client.get(reverse("admin:procedures_procedure_changelist"))
    assert changelist.status_code == 200
    change = client.get(
        reverse("admin:procedures_procedure_change", args=[emergency.pk])
    )
    assert change.status_code == 200
    # A coordinator reads but does not write: no text area to edit.
    assert 'name="body"' not in change.content.decode()


def test_a_manager_writes_a_new_version_from_the_admin(
    staff_client, emergency, manager
):
    client = staff_client(manager)
    url = reverse("admin:procedures_procedure_change", args=[emergency.pk])
    version = emergency.current_version

    response = client.post(
        url,
        {
            "kind": "protocol",
            "title": version.title,
            "slug": emergency.slug,
            "body": version.body + "\nAjout.",
            "change_note": "Ajout",
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
            "versions-0-id": str(version.pk),
            "versions-0-procedure": str(emergency.pk),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    emergency.refresh_from_db()
    assert emergency.current_version.number == 2
    assert emergency.current_version.published_by == manager


def test_the_pending_page_lists_everybodys_missing_readings_for_managers(
    staff_client, emergency, manager, coordinator
):
    page = staff_client(manager).get(reverse("admin:procedures_procedure_pending"))

    assert page.status_code == 200
    body = page.content.decode()
    assert coordinator.get_full_name() in body
