"""Demo data: the reference tariffs, procedures, insurers and claims in every state.

Idempotent: tariffs are loaded by their own idempotent loader, procedures are
found by title, the insurers by name, and the claims are made only for the demo
patients that have none yet.
"""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conciergerie.accounts.models import User
from patients.models import Channel, Patient

from . import services
from .adapters import contract_input, patient_input
from .engine import ActInput, PractitionerInput, Sector, Specialty
from .models import AdministrativeProcedure, Claim, ClaimDocument, Insurer, Payer
from .models import SendingMethod as Via
from .tariffs import load_reference_data

DEMO_PROCEDURES = [
    (
        AdministrativeProcedure.Kind.PRIOR_APPROVAL,
        "Entente préalable : séances de kinésithérapie au-delà du référentiel",
        7,
    ),
    (
        AdministrativeProcedure.Kind.ALD,
        "Protocole de soins ALD : renouvellement par le médecin traitant",
        21,
    ),
    (
        AdministrativeProcedure.Kind.MUTUELLE_CHANGE,
        "Changement de mutuelle : transmettre la nouvelle attestation",
        3,
    ),
]

#: The mutuelles of the demo patients, with a claims address in a reserved
#: domain (nothing can be delivered there).
DEMO_INSURERS = [
    ("MGEN", "prestations@mgen.example"),
    ("Harmonie Mutuelle", "remboursements@harmonie-mutuelle.example"),
    ("Malakoff Humanis", "sante@malakoff-humanis.example"),
    ("AG2R La Mondiale", "remboursements@ag2r.example"),
    ("Mutuelle Générale", "prestations@mutuelle-generale.example"),
    ("Alan", "claims@alan.example"),
    ("MAAF Santé", "sante@maaf.example"),
]
DEMO_PARTNER_INSURER = "Harmonie Mutuelle"
DEMO_PATIENT_EMAIL = "patient@conciergerie.local"
DEMO_PARENT_EMAIL = "parent@conciergerie.local"

GP = PractitionerInput(sector=Sector.SECTOR_1, specialty=Specialty.GENERAL_PRACTICE)
CARDIOLOGIST = PractitionerInput(
    sector=Sector.SECTOR_2_OPTAM, specialty=Specialty.CARDIOLOGY
)
DERMATOLOGIST = PractitionerInput(
    sector=Sector.SECTOR_2_OPTAM, specialty=Specialty.DERMATOLOGY
)
PAEDIATRICIAN = PractitionerInput(
    sector=Sector.SECTOR_1, specialty=Specialty.PAEDIATRICS
)


def seed(*, stdout) -> None:
    report = load_reference_data()
    stdout.write(f"  Reference tariffs: {report}.")
    owner = User.objects.filter(email="coordinator@conciergerie.local").first()
    if owner is None:
        stdout.write("  No demo coordinator: procedures and claims skipped.")
        return
    _procedures(owner)
    _insurers(stdout)
    _claims(owner, stdout)
    stdout.write("  Simulate a reimbursement in the portal: /reimbursements/estimate/")
    stdout.write("  Follow the claims: /reimbursements/ (portal), claims board (admin)")


def _procedures(owner: User) -> None:
    today = timezone.localdate()
    patients = list(
        Patient.objects.filter(registration_channel=Channel.SEED).order_by(
            "created_at"
        )[: len(DEMO_PROCEDURES)]
    )
    for index, (kind, title, days) in enumerate(DEMO_PROCEDURES):
        if AdministrativeProcedure.objects.filter(title=title).exists():
            continue
        services.open_procedure(
            kind=kind,
            title=title,
            owner=owner,
            due_on=today + dt.timedelta(days=days),
            patient=patients[index] if index < len(patients) else None,
        )


def _insurers(stdout) -> None:
    for name, email in DEMO_INSURERS:
        Insurer.objects.get_or_create(
            name=name, kind=Payer.AMC, defaults={"claims_email": email}
        )
    # The demo patient's own mutuelle answers through the API, so that the
    # partner sees claims from the first call.
    own = Patient.objects.filter(user__email=DEMO_PATIENT_EMAIL).first()
    coverage = own.current_insurance() if own is not None else None
    name = (coverage.mutuelle_name if coverage else "") or DEMO_PARTNER_INSURER
    insurer, _created = Insurer.objects.get_or_create(
        name=name, kind=Payer.AMC, defaults={"claims_email": DEMO_INSURERS[1][1]}
    )
    if insurer.partner_id is not None:
        stdout.write(f"  {name} answers claims through the API.")
        return
    from conciergerie.partners import services as partners
    from conciergerie.partners.models import Organisation

    organisation = Organisation.objects.filter(name=name).first()
    if organisation is None:
        organisation = partners.create_organisation(
            name=name,
            kind=Organisation.Kind.INSURER,
            technical_email="api@mutuelle.example",
        )
        profile, secret = partners.create_application(
            organisation=organisation,
            name=f"{name}: remboursements",
            scopes=["claims:read", "claims:write"],
        )
        stdout.write(
            f"  {name} API (client credentials at /o/token/, scopes claims:read "
            "claims:write):"
        )
        stdout.write(f"    client id     {profile.application.client_id}")
        stdout.write(f"    client secret {secret}  (shown once)")
    Insurer.objects.filter(pk=insurer.pk).update(partner=organisation.service_user)


def _claims(owner: User, stdout) -> None:
    own = Patient.objects.filter(user__email=DEMO_PATIENT_EMAIL).first()
    children = list(
        Patient.objects.filter(
            guardianships__guardian__email=DEMO_PARENT_EMAIL,
            guardianships__ended_at__isnull=True,
        ).order_by("birth_date")
    )
    others = list(
        Patient.objects.filter(registration_channel=Channel.SEED, user__isnull=True)
        .exclude(insurance_coverages__mutuelle_name="")
        .order_by("created_at")[:4]
    )
    made = 0
    if own is not None and not own.reimbursement_claims.exists():
        made += _story_of_camille(own, owner)
    for child in children[:1]:
        if not child.reimbursement_claims.exists():
            made += _visit(
                child,
                owner,
                code="G",
                fee="30",
                practitioner=PAEDIATRICIAN,
                days_ago=35,
                amo=_paid,
                amc=_partly_paid,
            )
    for index, patient in enumerate(others):
        if patient.reimbursement_claims.exists():
            continue
        steps = [
            (_paid, _paid),
            (_acknowledged, _waiting),
            (_rejected, _sent_by_post),
            (_closed, _paid),
        ][index % 4]
        made += _visit(
            patient,
            owner,
            code="CS",
            fee="60",
            practitioner=DERMATOLOGIST,
            days_ago=20 + 9 * index,
            amo=steps[0],
            amc=steps[1],
        )
    stdout.write(f"  {made} demo claims ({Claim.objects.count()} in all).")


def _story_of_camille(patient: Patient, owner: User) -> int:
    """Every state of a claim, on the demo patient's own visits."""
    return sum(
        [
            _visit(
                patient,
                owner,
                code="G",
                fee="30",
                practitioner=GP,
                days_ago=75,
                amo=_paid,
                amc=_paid_and_closed,
            ),
            _visit(
                patient,
                owner,
                code="CS",
                fee="60",
                practitioner=CARDIOLOGIST,
                days_ago=45,
                amo=_paid,
                amc=_short_final,
            ),
            _visit(
                patient,
                owner,
                code="CS",
                fee="60",
                practitioner=DERMATOLOGIST,
                days_ago=26,
                amo=_acknowledged,
                amc=_waiting,
            ),
            _visit(
                patient,
                owner,
                code="DEQP003",
                fee="14.26",
                practitioner=CARDIOLOGIST,
                days_ago=18,
                amo=_rejected,
                amc=_appealed,
            ),
            _visit(
                patient,
                owner,
                code="G",
                fee="30",
                practitioner=GP,
                days_ago=2,
                amo=_draft,
                amc=_draft,
            ),
        ]
    )


Step = Callable[[Claim, User, dt.datetime], None]


def _visit(
    patient: Patient,
    owner: User,
    *,
    code: str,
    fee: str,
    practitioner: PractitionerInput,
    days_ago: int,
    amo: Step,
    amc: Step,
) -> int:
    """Record the act, prepare both claims with a care sheet, then play the steps."""
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    coverage = patient.current_insurance(day)
    recorded, _estimate = services.record_act(
        patient=patient,
        act=ActInput(code=code, performed_on=day, fee=Decimal(fee)),
        practitioner=practitioner,
        situation=patient_input(
            patient, coverage=coverage, consulting_treating_doctor=True, referred=True
        ),
        contract=contract_input(coverage),
        by=owner,
    )
    claims = services.open_claims_for_act(recorded_act=recorded, by=owner)
    sent_at = timezone.now() - dt.timedelta(days=max(days_ago - 2, 0))
    care_sheet = None
    for claim in claims:
        # One care sheet in the patient's file, attached to both claims.
        if care_sheet is None:
            care_sheet = services.attach_new_document(
                claim=claim,
                by=owner,
                upload=SimpleUploadedFile(
                    "feuille-de-soins.pdf", _care_sheet(claim), "application/pdf"
                ),
                kind=ClaimDocument.Kind.CARE_SHEET,
            ).document
        else:
            services.attach_documents(
                claim=claim,
                documents=[care_sheet],
                kind=ClaimDocument.Kind.CARE_SHEET,
                by=owner,
            )
        step = amo if claim.payer == Payer.AMO else amc
        step(claim, owner, sent_at)
    return len(claims)


def _care_sheet(claim: Claim) -> bytes:
    """A one-page PDF naming the act (built by hand: no renderer needed)."""
    text = f"Feuille de soins - {claim.label} - {claim.care_date:%d/%m/%Y}"
    safe = text.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 14 Tf 40 760 Td (" + safe + b") Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream),
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def _send(claim: Claim, owner: User, sent_at: dt.datetime) -> Claim:
    via = Via.EMAIL if claim.payer_email else Via.POST
    # Demo history: the claim was prepared, then left days ago, as the board's
    # ages and the patient's timeline show.
    prepared_at = sent_at - dt.timedelta(days=1)
    Claim.objects.filter(pk=claim.pk).update(created_at=prepared_at)
    claim.events.update(created_at=prepared_at)
    claim = services.send_claim(claim=claim, by=owner, via=via)
    Claim.objects.filter(pk=claim.pk).update(sent_at=sent_at, awaiting_since=sent_at)
    claim.events.filter(kind="sent").update(created_at=sent_at)
    claim.refresh_from_db()
    return claim


def _draft(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    """Prepared, not sent yet."""


def _waiting(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    claim = _send(claim, owner, sent_at)
    services.chase_claim(claim_id=claim.pk)


def _sent_by_post(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    services.send_claim(claim=claim, by=owner, via=Via.POST)


def _acknowledged(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    claim = _send(claim, owner, sent_at)
    services.acknowledge_claim(claim=claim, by=owner, payer_reference="CPAM-2026-4471")


def _paid(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    claim = _send(claim, owner, sent_at)
    services.record_claim_payment(claim=claim, by=owner, amount=claim.amount_expected)


def _paid_and_closed(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    _paid(claim, owner, sent_at)
    services.close_claim(claim=claim, by=owner)


def _partly_paid(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    claim = _send(claim, owner, sent_at)
    half = (claim.amount_expected / 2).quantize(Decimal("0.01"))
    services.record_claim_payment(claim=claim, by=owner, amount=half)


def _short_final(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    claim = _send(claim, owner, sent_at)
    services.record_claim_payment(
        claim=claim,
        by=owner,
        amount=(claim.amount_expected * Decimal("0.6")).quantize(Decimal("0.01")),
        final=True,
        comment="Plafond annuel des dépassements atteint selon la mutuelle",
    )


def _rejected(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    claim = _send(claim, owner, sent_at)
    services.reject_claim(
        claim=claim, by=owner, reason="Feuille de soins illisible : à renvoyer"
    )


def _appealed(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    _rejected(claim, owner, sent_at)
    claim.refresh_from_db()
    services.appeal_claim(
        claim=claim,
        by=owner,
        comment="Nouvelle copie lisible de la feuille de soins envoyée",
    )


def _closed(claim: Claim, owner: User, sent_at: dt.datetime) -> None:
    claim = _send(claim, owner, sent_at)
    services.close_claim(
        claim=claim, by=owner, comment="Remboursé directement par tiers payant"
    )
