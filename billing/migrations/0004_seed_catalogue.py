"""The starting catalogue and the VAT rates it needs, as dated data.

Prices are the service's own list prices (excluding VAT); VAT rates come from the
Code général des impôts. Both change by adding a new dated row, never by editing.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

VAT_SOURCE = "CGI art. 278 — https://www.service-public.fr/professionnels-entreprises/vosdroits/F23567"
PRICE_SOURCE = "Grille tarifaire Conciergerie 2026"
CATALOGUE_START = date(2026, 1, 1)

SERVICES = [
    # code, name, description, kind, unit, vat category, price
    (
        "request-fee",
        "Organisation d'un parcours de soins",
        "Qualification de la demande, recherche du spécialiste, prise de rendez-vous et suivi.",
        "request_fee", "unit", "standard", "49.00",
    ),
    (
        "teleconsultation-setup",
        "Organisation d'une téléconsultation",
        "Prise de rendez-vous, test de l'équipement et transmission du dossier au praticien.",
        "request_fee", "unit", "standard", "29.00",
    ),
    (
        "accompaniment-hour",
        "Accompagnement physique",
        "Un accompagnateur reste auprès du patient pendant le rendez-vous, à l'heure.",
        "accompaniment", "hour", "standard", "45.00",
    ),
    (
        "transport-booking",
        "Organisation du transport",
        "Réservation d'un taxi conventionné ou d'un VSL aller et retour.",
        "logistics", "unit", "standard", "25.00",
    ),
    (
        "paperwork",
        "Démarches administratives",
        "Dossiers de remboursement, demandes de prise en charge, courriers.",
        "logistics", "unit", "standard", "35.00",
    ),
    (
        "membership-monthly",
        "Abonnement Sérénité — mensuel",
        "Conseiller dédié, demandes illimitées, suivi des remboursements.",
        "membership", "month", "standard", "39.00",
    ),
    (
        "membership-yearly",
        "Abonnement Sérénité — annuel",
        "Conseiller dédié, demandes illimitées, suivi des remboursements ; deux mois offerts.",
        "membership", "year", "standard", "390.00",
    ),
    (
        "practitioner-fee",
        "Honoraires du praticien avancés (débours)",
        "Honoraires réglés au praticien au nom et pour le compte du patient, refacturés à l'euro près.",
        "disbursement", "unit", "disbursement", "30.00",
    ),
]


def seed(apps, schema_editor):
    VatRate = apps.get_model("billing", "VatRate")
    Service = apps.get_model("billing", "Service")
    ServicePrice = apps.get_model("billing", "ServicePrice")
    VatRate.objects.get_or_create(
        category="standard",
        valid_from=date(2014, 1, 1),
        defaults={"rate": Decimal("20.00"), "source": VAT_SOURCE},
    )
    for position, (code, name, description, kind, unit, vat, price) in enumerate(
        SERVICES
    ):
        service, _created = Service.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "kind": kind,
                "unit": unit,
                "vat_category": vat,
                "position": position * 10,
            },
        )
        ServicePrice.objects.get_or_create(
            service=service,
            valid_from=CATALOGUE_START,
            defaults={"unit_price_excl_vat": Decimal(price), "source": PRICE_SOURCE},
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_immutable_documents")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
