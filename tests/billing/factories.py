"""Billing factories: customers, then documents built through the services."""

from datetime import date
from decimal import Decimal

import factory

from billing import services
from billing.models import Customer, CustomerKind, Service
from tests.factories import UserFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    kind = CustomerKind.PATIENT
    name = factory.Faker("name", locale="fr_FR")
    address = "3 rue des Lilas"
    postal_code = "69003"
    city = "Lyon"
    country = "FR"
    email = factory.LazyAttribute(
        lambda o: o.user.email if o.user else "payer@example.fr"
    )
    user = factory.SubFactory(UserFactory)

    class Params:
        company = factory.Trait(
            kind=CustomerKind.COMPANY,
            name="Horizon Industries SA",
            siren="552100554",
            vat_number="FR96552100554",
            email="compta@horizon.example.fr",
            user=None,
        )
        insurer = factory.Trait(
            kind=CustomerKind.INSURER,
            name="Mutuelle Santé Plus",
            siren="775685019",
            vat_number="",
            email="factures@msp.example.fr",
            user=None,
        )


def catalogue(code: str) -> Service:
    return Service.objects.get(code=code)


def lines(*specs: tuple) -> list[services.LineSpec]:
    """(description, quantity, unit price[, vat category]) tuples as line specs."""
    built = []
    for spec in specs:
        description, quantity, price, *rest = spec
        built.append(
            services.LineSpec(
                description=description,
                quantity=Decimal(str(quantity)),
                unit_price=Decimal(str(price)),
                vat_category=rest[0] if rest else None,
                service_date=date(2026, 3, 2),
            )
        )
    return built


def draft_invoice(customer=None, specs=None, **kwargs):
    customer = customer or CustomerFactory()
    specs = specs or lines(("Organisation d'un parcours de soins", 1, "49.00"))
    return services.create_invoice(customer=customer, lines=specs, **kwargs)


def issued_invoice(customer=None, specs=None, on=None, **kwargs):
    invoice = draft_invoice(customer, specs, **kwargs)
    return services.issue_invoice(invoice=invoice, on=on)


def error_code(error) -> str:
    """The code of a ValidationError, whether raised for a field or the whole."""
    if hasattr(error, "error_dict"):
        return next(iter(error.error_dict.values()))[0].code
    return error.code
