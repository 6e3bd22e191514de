from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing import services
from billing.models import Quote, QuoteLine
from tests.billing.factories import catalogue, error_code

D = Decimal


@pytest.fixture
def quote(patient_customer):
    return services.create_quote(
        customer=patient_customer,
        lines=[
            services.LineSpec(service=catalogue("request-fee")),
            services.LineSpec(service=catalogue("accompaniment-hour"), quantity=D("2")),
        ],
        reference="D-7K2M9Q",
    )


def test_a_quote_totals_its_catalogue_lines(quote):
    assert quote.state == Quote.State.DRAFT
    assert quote.total_excl_vat == D("139.00")
    assert quote.total == D("166.80")
    assert quote.number is None


def test_sending_a_quote_numbers_it_and_emails_the_patient(
    quote, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_quote(quote=quote)

    assert sent.state == Quote.State.SENT
    assert sent.number.startswith("DE-")
    assert sent.valid_until == timezone.localdate() + timedelta(days=30)
    assert [m.to for m in mailoutbox] == [[quote.customer.email]]
    assert str(sent.public_id) in mailoutbox[0].body


def test_accepting_records_who_when_and_from_where(quote, patient_user):
    quote = services.send_quote(quote=quote)

    accepted = services.accept_quote(
        quote=quote, by=patient_user, ip="203.0.113.7", user_agent="Firefox/140"
    )

    accepted.refresh_from_db()
    assert accepted.state == Quote.State.ACCEPTED
    assert accepted.decided_by == patient_user
    assert accepted.decision_ip == "203.0.113.7"
    assert accepted.decision_user_agent == "Firefox/140"
    assert accepted.decided_at is not None


def test_refusing_records_the_reason(quote, patient_user):
    quote = services.send_quote(quote=quote)

    refused = services.refuse_quote(
        quote=quote, by=patient_user, ip=None, reason="Trop cher"
    )

    assert refused.state == Quote.State.REFUSED
    assert refused.refusal_reason == "Trop cher"


def test_a_quote_is_answered_only_once(quote, patient_user):
    quote = services.send_quote(quote=quote)
    services.refuse_quote(quote=quote, by=patient_user, ip=None)

    with pytest.raises(ValidationError) as error:
        services.accept_quote(quote=quote, by=patient_user, ip=None)

    assert error_code(error.value) == "quote_closed"


def test_an_expired_quote_cannot_be_accepted_and_the_sweep_closes_it(
    quote, patient_user
):
    quote = services.send_quote(quote=quote)
    Quote.objects.filter(pk=quote.pk).update(
        valid_until=timezone.localdate() - timedelta(days=1)
    )

    with pytest.raises(ValidationError) as error:
        services.accept_quote(quote=quote, by=patient_user, ip=None)
    assert error_code(error.value) == "quote_expired"

    assert services.expire_quotes() == 1
    quote.refresh_from_db()
    assert quote.state == Quote.State.EXPIRED


def test_a_draft_quote_cannot_be_accepted(quote, patient_user):
    with pytest.raises(ValidationError) as error:
        services.accept_quote(quote=quote, by=patient_user, ip=None)

    assert error_code(error.value) == "quote_closed"


def test_a_sent_quote_is_frozen(quote):
    services.send_quote(quote=quote)
    line = QuoteLine.objects.filter(quote=quote).first()
    line.quantity = D("5")

    with pytest.raises(ValidationError) as error:
        line.save()

    assert error_code(error.value) == "quote_locked"


def test_only_an_accepted_quote_becomes_an_invoice(quote):
    with pytest.raises(ValidationError) as error:
        services.create_invoice_from_quote(quote=quote)

    assert error_code(error.value) == "quote_not_accepted"


def test_the_reimbursement_estimate_gives_the_out_of_pocket(quote):
    assert quote.out_of_pocket is None

    quote = services.record_reimbursement_estimate(quote=quote, amount=D("120.50"))

    assert quote.estimated_reimbursement == D("120.50")
    assert quote.out_of_pocket == D("46.30")
    assert quote.reimbursement_estimated_at is not None


def test_an_estimate_above_the_total_is_refused(quote):
    with pytest.raises(ValidationError) as error:
        services.record_reimbursement_estimate(quote=quote, amount=D("500"))

    assert error_code(error.value) == "estimate_out_of_range"
