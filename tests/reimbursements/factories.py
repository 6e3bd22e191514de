"""Factories of the reimbursements app."""

import datetime as dt
from decimal import Decimal as D

import factory
from django.utils import timezone

from conciergerie.accounts.roles import Role
from reimbursements import services
from reimbursements.engine import ActKind
from reimbursements.models import (
    Act,
    AdministrativeProcedure,
    ClaimDocument,
    Insurer,
    Payer,
    RecordedAct,
    SendingMethod,
)
from tests.factories import UserFactory
from tests.patients.factories import PatientFactory


class AdministrativeProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdministrativeProcedure

    kind = AdministrativeProcedure.Kind.PRIOR_APPROVAL
    title = factory.Sequence(lambda n: f"Entente préalable n°{n}")
    patient = factory.SubFactory(PatientFactory)
    owner = factory.SubFactory(UserFactory, role=Role.CARE_COORDINATOR)
    due_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=15))


class InsurerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Insurer
        django_get_or_create = ["name", "kind"]

    name = "Harmonie Mutuelle"
    kind = Payer.AMC
    claims_email = "remboursements@harmonie.example.fr"
    postal_address = "Service remboursements, TSA 40501, 75901 Paris Cedex 15"


def consultation_act(code: str = "CS", label: str = "Consultation de spécialiste"):
    """The act row (the tariffs' migration makes it; a flush may have removed it)."""
    return Act.objects.get_or_create(
        code=code, defaults={"label": label, "kind": ActKind.CONSULTATION}
    )[0]


class RecordedActFactory(factory.django.DjangoModelFactory):
    """A sector 2 OPTAM specialist at 60 euros, mutuelle at 200% (DOMAIN.md)."""

    class Meta:
        model = RecordedAct

    patient = factory.SubFactory(PatientFactory, consented=True)
    act = factory.LazyFunction(consultation_act)
    performed_on = dt.date(2026, 3, 10)
    sector = "sector_2_optam"
    fee = D("60.00")
    base = D("31.50")
    amo = D("20.05")
    amc = D("37.95")
    out_of_pocket = D("2.00")
    contribution_kind = "participation"
    participation = D("2.00")


def covered(patient, **overrides):
    """Give the patient the Harmonie Mutuelle contract for 2026."""
    from tests.patients.factories import InsuranceCoverageFactory

    return InsuranceCoverageFactory(
        patient=patient,
        **{
            "mutuelle_name": "Harmonie Mutuelle",
            "mutuelle_contract_number": "HM-2026-0042",
            "mutuelle_member_number": "00731",
            "fund_name": "CPAM de Paris",
            **overrides,
        },
    )


def care_sheet(patient):
    from patients.models import Document
    from tests.patients.factories import DocumentFactory

    return DocumentFactory(
        patient=patient,
        kind=Document.Kind.CARE_SHEET,
        title="Feuille de soins",
        original_name="feuille.pdf",
    )


def draft_claim(*, by, patient=None, payer=Payer.AMC, documents=True, **kwargs):
    """A claim of the mutuelle's share of a recorded act, with a care sheet."""
    act = RecordedActFactory(**({"patient": patient} if patient else {}))
    if not act.patient.insurance_coverages.exists():
        covered(act.patient)
    claim = services.open_claim(
        patient=act.patient, payer=payer, by=by, recorded_act=act, **kwargs
    )
    if documents:
        services.attach_documents(
            claim=claim,
            documents=[care_sheet(act.patient)],
            kind=ClaimDocument.Kind.CARE_SHEET,
            by=by,
        )
    return claim


def sent_claim(*, by, via=SendingMethod.POST, **kwargs):
    claim = draft_claim(by=by, **kwargs)
    return services.send_claim(claim=claim, by=by, via=via)


def error_code(error) -> str:
    """The code of a ValidationError raised for a field or for the whole."""
    if hasattr(error, "error_dict"):
        return next(iter(error.error_dict.values()))[0].code
    return error.code
