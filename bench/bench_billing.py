"""PDF rendering time of invoices: 1 page and 10 pages, plain and Factur-X.

The baseline is WeasyPrint rendering a trivial HTML page in the same run, so the
ratios show what the invoice layout costs over WeasyPrint itself. Each figure is
the median of several renders after a warm-up (fonts loaded once).
Goals on this machine: 1 page <= 300 ms, 10 pages <= 5 s.

    .venv/bin/python bench/bench_billing.py
    BENCH_RUNS=3 .venv/bin/python bench/bench_billing.py
"""

import logging
import os
import statistics
import sys
import time
from decimal import Decimal
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "conciergerie.settings_test"
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/conciergerie_bench_billing",
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from weasyprint import HTML  # noqa: E402

from billing import pdf, services  # noqa: E402
from billing.models import Customer, CustomerKind, InvoiceLine  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
GOALS = {1: 0.300, 10: 5.0}
LINES_PER_PAGE = 15  # two-line rows with the current layout; the count is checked


def median_seconds(render) -> tuple[float, bytes]:
    render()  # warm-up
    timings, output = [], b""
    for _ in range(RUNS):
        start = time.perf_counter()
        output = render()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), output


def pages(content: bytes) -> int:
    return len(PdfReader(BytesIO(content)).pages)


def invoice_with(lines: int):
    customer, _ = Customer.objects.get_or_create(
        name="Bench Industries SA",
        kind=CustomerKind.COMPANY,
        defaults={
            "address": "1 rue du Banc",
            "postal_code": "75001",
            "city": "Paris",
            "siren": "552100554",
        },
    )
    invoice = services.create_invoice(
        customer=customer,
        lines=[
            services.LineSpec(
                description="Organisation d'un parcours de soins",
                unit_price=Decimal("49"),
            )
        ],
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=10 + number,
            description=f"Accompagnement physique, rendez-vous n° {number}",
            quantity=Decimal("1.5"),
            unit="hour",
            unit_price_excl_vat=Decimal("45.00"),
            vat_rate=Decimal("20.00"),
        )
        for number in range(1, lines)
    )
    return services.issue_invoice(invoice=invoice)


def main() -> None:
    for name in ("weasyprint", "fontTools", "factur-x"):
        logging.getLogger(name).setLevel(logging.WARNING)
    call_command("ensure_database", verbosity=0)
    call_command("migrate", verbosity=0)

    baseline, _ = median_seconds(
        lambda: HTML(string="<html><body><p>Bonjour</p></body></html>").write_pdf()
    )
    print(f"baseline: trivial HTML page with WeasyPrint   {baseline * 1000:8.1f} ms")

    missed = []
    for target in (1, 10):
        invoice = invoice_with(3 if target == 1 else LINES_PER_PAGE * target - 2)
        seconds, content = median_seconds(lambda inv=invoice: pdf.render_pdf(inv))
        facturx_seconds, facturx_content = median_seconds(
            lambda inv=invoice: pdf.render_facturx(inv)
        )
        count = pages(content)
        goal = GOALS[target]
        verdict = "OK" if seconds <= goal else "MISSED"
        if seconds > goal:
            missed.append(target)
        print(
            f"invoice, {count:2d} page(s), {invoice.lines.count():3d} lines: "
            f"PDF {seconds * 1000:8.1f} ms ({seconds / baseline:5.1f}x baseline), "
            f"Factur-X {facturx_seconds * 1000:8.1f} ms "
            f"({pages(facturx_content)} page(s)); "
            f"goal <= {goal * 1000:.0f} ms: {verdict}"
        )
        if count != target:
            print(f"  note: expected {target} page(s), got {count}")
    if missed:
        raise SystemExit(f"Goals missed for {missed} page(s).")


if __name__ == "__main__":
    main()
