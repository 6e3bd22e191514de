"""Money arithmetic for quotes, invoices and credit notes.

Amounts are `Decimal` euros with two places. Each line is rounded on its own
(net, then VAT on the rounded net, half up, as French invoices are read line by
line), and document totals are the sums of the rounded lines: the printed
figures always add up.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def round_money(value: Decimal) -> Decimal:
    """Round to the cent, half away from zero (0.005 → 0.01)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def compute_line_amounts(
    *, quantity: Decimal, unit_price: Decimal, vat_rate: Decimal
) -> LineAmounts:
    """Net = quantity × unit price, then VAT = net × rate, each rounded."""
    net = round_money(Decimal(quantity) * Decimal(unit_price))
    vat = round_money(net * Decimal(vat_rate) / HUNDRED)
    return LineAmounts(net=net, vat=vat)


@dataclass
class DocumentTotals:
    """Sums of rounded lines, with the VAT breakdown per rate."""

    total_excl_vat: Decimal = ZERO  # lines subject to VAT
    total_vat: Decimal = ZERO
    total_disbursements: Decimal = ZERO  # débours: outside the scope of VAT
    vat_breakdown: dict[Decimal, tuple[Decimal, Decimal]] | None = None

    @property
    def total(self) -> Decimal:
        return self.total_excl_vat + self.total_vat + self.total_disbursements


def sum_lines(lines) -> DocumentTotals:
    """Add up lines (`net_amount`, `vat_amount`, `vat_rate`, `is_disbursement`)."""
    totals = DocumentTotals(vat_breakdown={})
    assert totals.vat_breakdown is not None
    for line in lines:
        if line.is_disbursement:
            totals.total_disbursements += line.net_amount
            continue
        totals.total_excl_vat += line.net_amount
        totals.total_vat += line.vat_amount
        base, tax = totals.vat_breakdown.get(line.vat_rate, (ZERO, ZERO))
        totals.vat_breakdown[line.vat_rate] = (
            base + line.net_amount,
            tax + line.vat_amount,
        )
    return totals
