"""A patient reads a quote in the portal, accepts it, then finds what is due."""

import re
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.test import Client

from billing import services
from billing.models import Quote, VatRate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )


def test_a_patient_accepts_a_quote_and_sees_the_invoice_due(page, live_server):
    from tests.billing.factories import CustomerFactory, issued_invoice

    if not VatRate.objects.exists():  # a flush by an earlier browser test
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)
    customer = CustomerFactory(name="Camille Petit", email="")
    quote = services.send_quote(
        quote=services.create_quote(
            customer=customer,
            lines=[
                services.LineSpec(
                    description="Accompagnement physique", unit_price=Decimal("45")
                )
            ],
        )
    )
    invoice = issued_invoice(customer)
    sign_in(page, live_server, customer.user)

    page.goto("/billing/")
    page.get_by_role("heading", name="Mes factures et devis").wait_for()
    assert (
        "Vous devez 58,80"
        in page.get_by_role("region", name="Ce qui reste à payer").inner_text()
    )
    page.get_by_role("link", name=re.compile(f"Devis {quote.number}")).click()
    page.get_by_role("button", name="J'accepte ce devis").click()

    page.get_by_text("Merci : votre accord est enregistré").wait_for()
    quote.refresh_from_db()
    assert quote.state == Quote.State.ACCEPTED
    assert quote.decision_ip == "127.0.0.1"
    assert "Chrome" in quote.decision_user_agent
    assert page.get_by_role("button", name="J'accepte ce devis").count() == 0

    page.goto(invoice.get_absolute_url())
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger la facture (PDF)").click()
    assert download.value.suggested_filename == f"{invoice.number}.pdf"
