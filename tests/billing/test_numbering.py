"""Legal numbering: one continuous series per year, no gap, no duplicate."""

import threading
from datetime import date
from unittest import mock

import pytest
from django.db import connections

from billing import services
from billing.models import DocumentCounter, Invoice
from tests.billing.factories import CustomerFactory, draft_invoice, issued_invoice


def _sequence(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def test_invoices_are_numbered_in_a_yearly_series(db):
    first = issued_invoice(on=date(2026, 12, 31))
    second = issued_invoice(on=date(2026, 12, 31))
    next_year = issued_invoice(on=date(2027, 1, 1))

    assert first.number == "FA-2026-000001"
    assert second.number == "FA-2026-000002"
    assert next_year.number == "FA-2027-000001"


def test_credit_notes_have_their_own_series(db):
    invoice = issued_invoice(on=date(2026, 5, 4))

    credit_note = services.create_credit_note(
        invoice=invoice, reason="Erreur de facturation", on=date(2026, 5, 5)
    )

    assert credit_note.number == "AV-2026-000001"
    assert issued_invoice(on=date(2026, 5, 6)).number == "FA-2026-000002"


def test_a_draft_has_no_number(db):
    assert draft_invoice().number is None


def test_a_failed_issue_gives_its_number_back(db):
    customer = CustomerFactory()
    issued_invoice(customer, on=date(2026, 3, 1))
    failing = draft_invoice(customer)

    # The number is taken, then saving the invoice fails: the whole issue
    # rolls back, the counter with it.
    with (
        mock.patch.object(Invoice, "save", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        services.issue_invoice(invoice=failing, on=date(2026, 3, 1))

    failing.refresh_from_db()
    assert failing.state == Invoice.State.DRAFT
    assert failing.number is None
    assert DocumentCounter.objects.get(series="FA", year=2026).last_value == 1
    following = issued_invoice(customer, on=date(2026, 3, 1))
    assert following.number == "FA-2026-000002"


def test_a_number_cannot_be_taken_outside_a_transaction():
    from billing.numbering import take_number

    outside = mock.Mock(in_atomic_block=False)
    with (
        mock.patch("billing.numbering.connection", outside),
        pytest.raises(RuntimeError),
    ):
        take_number(series="FA", year=2026)


@pytest.mark.django_db(transaction=True)
def test_fifty_invoices_issued_in_parallel_get_fifty_consecutive_numbers(proof_scale):
    count = proof_scale(50, 500)
    customer = CustomerFactory(email="")  # no invoice email: numbering only
    drafts = [draft_invoice(customer) for _ in range(count)]
    # One invoice fails after taking its number, while the others run.
    doomed = draft_invoice(customer)
    barrier = threading.Barrier(count + 1)
    errors: list[BaseException] = []
    real_save = Invoice.save

    def save_or_fail(self, *args, **kwargs):
        if self.pk == doomed.pk and self.number:
            raise RuntimeError("crash after the number was taken")
        return real_save(self, *args, **kwargs)

    def issue(invoice):
        try:
            barrier.wait(timeout=30)
            services.issue_invoice(invoice=invoice, on=date(2026, 6, 15))
        except RuntimeError as error:
            if invoice.pk != doomed.pk:
                errors.append(error)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(d,)) for d in [*drafts, doomed]]
    with mock.patch.object(Invoice, "save", save_or_fail):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert not errors
    numbers = list(
        Invoice.objects.exclude(state=Invoice.State.DRAFT).values_list(
            "number", flat=True
        )
    )
    assert len(numbers) == len(set(numbers)) == count
    assert sorted(_sequence(n) for n in numbers) == list(range(1, count + 1))
    assert all(n.startswith("FA-2026-") for n in numbers)
    doomed.refresh_from_db()
    assert doomed.number is None
    assert doomed.state == Invoice.State.DRAFT
    assert DocumentCounter.objects.get(series="FA", year=2026).last_value == count
