"""Demo billing: every kind of customer, quotes, invoices in every state, a credit note.

Idempotent: the documents carry `DEMO-` references and are created once. Demo
customers have no email address, so seeding sends no mail. The catalogue comes
from a data migration.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.accounts.services import create_user_with_role
from conciergerie.demo import DEMO_PASSWORD

from . import services
from .models import Customer, CustomerKind, Invoice, Quote, Service

D = Decimal


def _portal_user(email: str, first_name: str, last_name: str) -> User:
    """A demo patient login: the patients demo's when it exists, else our own."""
    existing = User.objects.with_role(Role.PATIENT).filter(email=email).first()
    return existing or create_user_with_role(
        email=email,
        role=Role.PATIENT,
        password=DEMO_PASSWORD,
        first_name=first_name,
        last_name=last_name,
    )


def _customer(**fields) -> Customer:
    customer, _created = Customer.objects.get_or_create(
        name=fields["name"], kind=fields["kind"], defaults=fields
    )
    return customer


def _service(code: str) -> Service:
    return Service.objects.get(code=code)


def seed(*, stdout) -> None:
    if Invoice.objects.filter(reference__startswith="DEMO-").exists():
        stdout.write("Demo billing already present.")
        return
    today = timezone.localdate()
    camille = _customer(
        kind=CustomerKind.PATIENT,
        name="Camille Petit",
        address="8 rue Oberkampf",
        postal_code="75011",
        city="Paris",
        user=_portal_user("camille.petit@conciergerie.local", "Camille", "Petit"),
    )
    julien = _customer(
        kind=CustomerKind.GUARDIAN,
        name="Julien Moreau (parent de Léa Moreau)",
        address="21 avenue Jean Jaurès",
        postal_code="69007",
        city="Lyon",
        user=_portal_user("julien.moreau@conciergerie.local", "Julien", "Moreau"),
    )
    horizon = _customer(
        kind=CustomerKind.COMPANY,
        name="Horizon Industries SA",
        address="40 quai Perrache",
        postal_code="69002",
        city="Lyon",
        siren="552100554",
        vat_number="FR96552100554",
    )
    mutuelle = _customer(
        kind=CustomerKind.INSURER,
        name="Mutuelle Santé Plus",
        address="5 boulevard Haussmann",
        postal_code="75009",
        city="Paris",
        siren="775685019",
    )
    line = services.LineSpec

    # Quotes: one waiting for Camille, one accepted and invoiced, one draft.
    waiting = services.create_quote(
        customer=camille,
        reference="DEMO-Q1",
        lines=[
            line(service=_service("request-fee")),
            line(service=_service("accompaniment-hour"), quantity=D("2")),
            line(
                service=_service("practitioner-fee"),
                description="Consultation de cardiologie (secteur 2 OPTAM)",
                unit_price=D("60.00"),
            ),
        ],
    )
    waiting = services.send_quote(quote=waiting)
    services.record_reimbursement_estimate(quote=waiting, amount=D("37.95"))
    accepted = services.send_quote(
        quote=services.create_quote(
            customer=julien,
            reference="DEMO-Q2",
            lines=[
                line(service=_service("teleconsultation-setup")),
                line(service=_service("paperwork")),
            ],
        )
    )
    accepted = services.accept_quote(
        quote=accepted,
        by=julien.user,
        ip="192.0.2.10",
        user_agent="Mozilla/5.0 (demo)",
    )
    services.create_quote(
        customer=camille,
        reference="DEMO-Q3",
        lines=[line(service=_service("membership-yearly"))],
    )

    # Invoices: from the accepted quote (partially paid), a paid employer plan,
    # an overdue insurer invoice, one partly corrected by a credit note.
    from_quote = services.create_invoice_from_quote(quote=accepted)
    from_quote.reference = "DEMO-I1"
    from_quote.save(update_fields=["reference"])
    from_quote = services.issue_invoice(
        invoice=from_quote, on=today - timedelta(days=5)
    )
    services.record_payment(
        invoice=from_quote, amount=D("30.00"), method="card", reference="CB-DEMO-1"
    )

    employer = services.create_invoice(
        customer=horizon,
        reference="DEMO-I2",
        lines=[line(service=_service("membership-monthly"), quantity=D("12"))],
        service_date=today - timedelta(days=20),
    )
    employer = services.issue_invoice(invoice=employer, on=today - timedelta(days=20))
    services.record_payment(
        invoice=employer,
        amount=employer.total,
        method="bank_transfer",
        reference="VIR HORIZON 2026-01",
    )

    insurer = services.create_invoice(
        customer=mutuelle,
        reference="DEMO-I3",
        lines=[
            line(service=_service("request-fee"), quantity=D("3")),
            line(service=_service("transport-booking"), quantity=D("2")),
        ],
        service_date=today - timedelta(days=50),
    )
    services.issue_invoice(invoice=insurer, on=today - timedelta(days=45))

    corrected = services.create_invoice(
        customer=camille,
        reference="DEMO-I4",
        lines=[
            line(service=_service("accompaniment-hour"), quantity=D("3")),
            line(
                service=_service("practitioner-fee"),
                description="Consultation de dermatologie",
                unit_price=D("50.00"),
            ),
        ],
        service_date=today - timedelta(days=10),
    )
    corrected = services.issue_invoice(invoice=corrected, on=today - timedelta(days=9))
    services.create_credit_note(
        invoice=corrected,
        reason="Accompagnement écourté d'une heure",
        lines=[
            services.CreditSpec(
                invoice_line=corrected.lines.get(service__code="accompaniment-hour"),
                quantity=D("1"),
            )
        ],
    )
    services.process_overdue_invoices(today=today)

    stdout.write(
        f"Billing: {Quote.objects.count()} quotes, {Invoice.objects.count()} invoices "
        "(issued, partially paid, paid, overdue, credited)."
    )
    stdout.write(
        "  Portal: camille.petit@conciergerie.local and "
        "julien.moreau@conciergerie.local "
        f"(password: {DEMO_PASSWORD}) see their quotes and invoices at /billing/."
    )
