"""Closing a request: nothing may be left open, unless a manager gives a reason."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patients.models import CareRequest
from patients.services import care_requests
from patients.services.care_requests import OpenItem, RoleNotAllowed
from tests.patients.factories import CareRequestFactory, CareTaskFactory

State = CareRequest.State


@pytest.fixture(autouse=True)
def _vat_rates(db):
    """A browser test's flush may have emptied the rates a data migration loads."""
    from importlib import import_module

    from django.apps import apps

    from billing.models import VatRate

    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)


@pytest.fixture
def finishing(patient):
    return CareRequestFactory(patient=patient, state=State.FOLLOW_UP)


def test_a_request_with_nothing_open_closes(finishing, coordinator):
    assert care_requests.open_items(finishing) == []

    care_requests.close_care_request(care_request=finishing, by=coordinator)

    finishing.refresh_from_db()
    assert finishing.state == State.CLOSED
    assert finishing.closed_at is not None


def test_an_open_task_keeps_the_request_open(finishing, coordinator):
    CareTaskFactory(care_request=finishing, title="Formulaire ALD à envoyer")

    with pytest.raises(ValidationError) as refused:
        care_requests.close_care_request(care_request=finishing, by=coordinator)

    assert refused.value.code == "open_items"
    assert "Formulaire ALD" in refused.value.messages[0]
    finishing.refresh_from_db()
    assert finishing.state == State.FOLLOW_UP


def test_a_done_task_no_longer_blocks(finishing, coordinator):
    CareTaskFactory(care_request=finishing, status="done")
    CareTaskFactory(care_request=finishing, status="cancelled")

    care_requests.close_care_request(care_request=finishing, by=coordinator)

    finishing.refresh_from_db()
    assert finishing.state == State.CLOSED


def test_a_manager_closes_anyway_with_a_written_reason(finishing, manager):
    CareTaskFactory(care_request=finishing)

    care_requests.close_care_request(
        care_request=finishing,
        by=manager,
        override_reason="Le patient a déménagé, la tâche n'a plus d'objet.",
    )

    finishing.refresh_from_db()
    assert finishing.state == State.CLOSED
    assert finishing.closure_override_reason.startswith("Le patient a déménagé")
    event = finishing.events.get(transition="close")
    assert "déménagé" in event.comment


def test_only_a_manager_may_override(finishing, coordinator):
    CareTaskFactory(care_request=finishing)

    with pytest.raises(RoleNotAllowed) as refused:
        care_requests.close_care_request(
            care_request=finishing, by=coordinator, override_reason="Pressé."
        )

    assert refused.value.code == "override_not_allowed"


def test_an_unpaid_invoice_of_the_request_blocks_closing(
    finishing, coordinator, manager
):
    from billing import services as billing
    from tests.billing.factories import CustomerFactory, lines

    invoice = billing.create_invoice(
        customer=CustomerFactory(),
        lines=lines(("Organisation du rendez-vous", 1, "40.00")),
        patient=finishing.patient,
        reference=finishing.reference,
        by=manager,
    )
    invoice = billing.issue_invoice(invoice=invoice, by=manager, on=date(2026, 11, 2))

    items = care_requests.open_items(finishing)
    with pytest.raises(ValidationError) as refused:
        care_requests.close_care_request(care_request=finishing, by=coordinator)
    billing.record_payment(
        invoice=invoice, amount=invoice.total, method="card", by=manager
    )

    assert [item.kind for item in items] == ["invoice"]
    assert refused.value.code == "open_items"
    assert care_requests.open_items(finishing) == []


def test_an_open_reimbursement_claim_blocks_closing(finishing, coordinator):
    from reimbursements.services import claims
    from tests.reimbursements.factories import RecordedActFactory, covered

    covered(finishing.patient)
    act = RecordedActFactory(patient=finishing.patient)
    claims.open_claim(
        patient=finishing.patient,
        payer="amo",
        by=coordinator,
        recorded_act=act,
        care_reference=finishing.reference,
    )

    items = care_requests.open_items(finishing)

    assert [item.kind for item in items] == ["claim"]


def test_other_apps_plug_their_open_items_in(finishing, coordinator):
    def pending_appointments(care_request):
        if care_request.pk == finishing.pk:
            yield OpenItem("appointment", "rendez-vous du 12 mars à confirmer", "A-1")

    care_requests.register_open_items_provider(
        "test-appointments", pending_appointments
    )
    try:
        with pytest.raises(ValidationError) as refused:
            care_requests.close_care_request(care_request=finishing, by=coordinator)
    finally:
        care_requests.unregister_open_items_provider("test-appointments")

    assert refused.value.code == "open_items"
    assert "12 mars" in refused.value.messages[0]


def test_invoices_of_other_requests_do_not_count(finishing, manager):
    from billing import services as billing
    from tests.billing.factories import CustomerFactory, lines

    billing.create_invoice(
        customer=CustomerFactory(),
        lines=lines(("Accompagnement", 1, Decimal("50.00"))),
        patient=finishing.patient,
        reference="D-ZZZZZZ",
        by=manager,
    )

    assert care_requests.open_items(finishing) == []
