from decimal import Decimal

import pytest

from billing.money import compute_line_amounts, round_money, sum_lines
from billing.services import LineSpec, create_invoice
from tests.billing.factories import CustomerFactory, lines

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("2.675", "2.68"),  # a float would give 2.67
        ("1.115", "1.12"),
        ("-0.005", "-0.01"),
        ("99.995", "100.00"),
    ],
)
def test_amounts_round_half_up_to_the_cent(value, expected):
    assert round_money(D(value)) == D(expected)


@pytest.mark.parametrize(
    ("quantity", "unit_price", "rate", "net", "vat"),
    [
        ("3", "33.33", "20", "99.99", "20.00"),  # 19.998 → 20.00
        ("1", "0.03", "20", "0.03", "0.01"),  # 0.006 → 0.01
        ("1", "0.02", "20", "0.02", "0.00"),  # 0.004 → 0.00
        ("1.5", "45.00", "20", "67.50", "13.50"),
        ("0.25", "45.10", "20", "11.28", "2.26"),  # 11.275 → 11.28, 2.256 → 2.26
        ("7", "14.29", "5.5", "100.03", "5.50"),  # 5.50165
        ("2", "10.025", "20", "20.05", "4.01"),
        ("1", "30.00", "0", "30.00", "0.00"),
    ],
)
def test_each_line_rounds_its_net_then_its_vat(quantity, unit_price, rate, net, vat):
    amounts = compute_line_amounts(
        quantity=D(quantity), unit_price=D(unit_price), vat_rate=D(rate)
    )

    assert (amounts.net, amounts.vat) == (D(net), D(vat))


def test_totals_are_the_sums_of_rounded_lines_not_a_rounded_sum(db):
    # Three lines of 0.03 at 20 %: each VAT 0.006 → 0.01, so the invoice shows
    # 0.03 of VAT (rounding the total base 0.09 × 20 % would give 0.02 and
    # the printed lines would not add up).
    invoice = create_invoice(
        customer=CustomerFactory(),
        lines=lines(("a", 1, "0.03"), ("b", 1, "0.03"), ("c", 1, "0.03")),
    )

    assert invoice.total_excl_vat == D("0.09")
    assert invoice.total_vat == D("0.03")
    assert invoice.total == D("0.12")
    assert invoice.vat_breakdown() == [(D("20.00"), D("0.09"), D("0.03"))]


def test_disbursements_stay_outside_the_vat_base(db):
    invoice = create_invoice(
        customer=CustomerFactory(),
        lines=[
            *lines(("Organisation", 1, "49.00")),
            *lines(("Honoraires avancés", 1, "60.00", "disbursement")),
        ],
    )

    assert invoice.total_excl_vat == D("49.00")
    assert invoice.total_vat == D("9.80")
    assert invoice.total_disbursements == D("60.00")
    assert invoice.total == D("118.80")
    disbursement = invoice.lines.get(description="Honoraires avancés")
    assert (disbursement.vat_rate, disbursement.vat_amount) == (D("0.00"), D("0.00"))


def test_catalogue_lines_take_the_price_and_rate_valid_on_their_date(db):
    from datetime import date

    from billing.models import Service, ServicePrice

    service = Service.objects.get(code="accompaniment-hour")
    ServicePrice.objects.filter(service=service).update(valid_to=date(2027, 1, 1))
    ServicePrice.objects.create(
        service=service, unit_price_excl_vat=D("48.00"), valid_from=date(2027, 1, 1)
    )

    invoice = create_invoice(
        customer=CustomerFactory(),
        lines=[LineSpec(service=service, quantity=D("2"))],
        service_date=date(2027, 2, 1),
    )

    line = invoice.lines.get()
    assert (line.unit_price_excl_vat, line.vat_rate) == (D("48.00"), D("20.00"))
    assert (line.unit, line.description) == ("hour", service.name)
    assert invoice.total == D("115.20")


def test_overlapping_price_periods_are_refused_by_the_database(db):
    from datetime import date

    from django.db import IntegrityError

    from billing.models import Service, ServicePrice

    service = Service.objects.get(code="request-fee")

    with pytest.raises(IntegrityError):
        ServicePrice.objects.create(
            service=service, unit_price_excl_vat=D("55.00"), valid_from=date(2026, 6, 1)
        )


def test_sum_lines_groups_vat_by_rate():
    class Line:
        def __init__(self, net, vat, rate, disbursement=False):
            self.net_amount, self.vat_amount = D(net), D(vat)
            self.vat_rate, self.is_disbursement = D(rate), disbursement

    totals = sum_lines(
        [
            Line("10.00", "2.00", "20"),
            Line("10.00", "0.55", "5.5"),
            Line("5.00", "1.00", "20"),
            Line("30.00", "0", "0", True),
        ]
    )

    assert totals.vat_breakdown == {
        D("20"): (D("15.00"), D("3.00")),
        D("5.5"): (D("10.00"), D("0.55")),
    }
    assert totals.total == D("58.55")
