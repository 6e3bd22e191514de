"""What the Assurance Maladie, the mutuelle and the patient each pay for one act.

`compute_estimate` is a pure function: every figure it uses (the reimbursement
base, the rates, the participation forfaitaire, the regulatory thresholds) comes
in through `TariffRules`, resolved beforehand from dated data by
`reimbursements.tariffs`. It reads no database and has no side effect, so that
portal simulations, quotes and invoices all get the same answer, and the rules
can be tested table by table.

The rules follow ameli.fr and service-public.fr (see the `source` of each tariff
row); the comments below cite the regulation where the arithmetic is not obvious.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def money(value: Decimal) -> Decimal:
    """Round to the cent the way the Assurance Maladie does (half up)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- Vocabulary ---------------------------------------------------------------------


class Sector(models.TextChoices):
    SECTOR_1 = "sector_1", _("Sector 1")
    SECTOR_2_OPTAM = "sector_2_optam", _("Sector 2 with OPTAM")
    SECTOR_2 = "sector_2", _("Sector 2 without OPTAM")
    NON_CONVENTIONED = "non_conventioned", _("Not conventioned")


class TariffGrid(models.TextChoices):
    """Which reimbursement base applies: it depends on the practitioner's sector."""

    OPTAM = "optam", _("Sector 1 and OPTAM")
    NON_OPTAM = "non_optam", _("Sector 2 without OPTAM")
    AUTHORITY = "authority", _("Authority tariff (not conventioned)")


GRID_OF_SECTOR = {
    Sector.SECTOR_1: TariffGrid.OPTAM,
    Sector.SECTOR_2_OPTAM: TariffGrid.OPTAM,
    Sector.SECTOR_2: TariffGrid.NON_OPTAM,
    Sector.NON_CONVENTIONED: TariffGrid.AUTHORITY,
}


class ActKind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    TELECONSULTATION = "teleconsultation", _("Teleconsultation")
    TECHNICAL = "technical", _("Technical act or exam")


class RateSituation(models.TextChoices):
    STANDARD = "standard", _("Coordinated care pathway")
    OUTSIDE_PATHWAY = "outside_pathway", _("Outside the coordinated care pathway")
    ALD = "ald", _("Care related to a long-term illness (ALD)")
    MATERNITY = "maternity", _("Pregnancy from the sixth month")


class ContributionKind(models.TextChoices):
    """Flat amounts left to the patient and deducted from the reimbursement."""

    PARTICIPATION_FORFAITAIRE = "participation", _("Participation forfaitaire")
    FRANCHISE = "franchise", _("Franchise médicale")


class ParameterKey(models.TextChoices):
    WRITTEN_INFORMATION_THRESHOLD = (
        "written_information_threshold",
        _("Fee from which written information is due beforehand (€)"),
    )
    NON_OPTAM_OVERRUN_CAP = (
        "non_optam_overrun_cap",
        _("Contrat responsable: maximum overrun coverage without OPTAM (% of base)"),
    )
    NON_OPTAM_OVERRUN_GAP = (
        "non_optam_overrun_gap",
        _("Contrat responsable: minimum gap between OPTAM and non-OPTAM (points)"),
    )


class Specialty(models.TextChoices):
    GENERAL_PRACTICE = "general_practice", _("General practice")
    PSYCHIATRY = "psychiatry", _("Psychiatry")
    GYNAECOLOGY = "gynaecology", _("Gynaecology")
    OPHTHALMOLOGY = "ophthalmology", _("Ophthalmology")
    STOMATOLOGY = "stomatology", _("Stomatology")
    PAEDIATRICS = "paediatrics", _("Paediatrics")
    CARDIOLOGY = "cardiology", _("Cardiology")
    DERMATOLOGY = "dermatology", _("Dermatology")
    OTHER = "other", _("Other specialty")


class Pathway(models.TextChoices):
    TREATING_DOCTOR = "treating_doctor", _("I see my declared médecin traitant")
    REFERRED = "referred", _("My médecin traitant referred me")
    DIRECT = "direct", _("Without referral, or no médecin traitant declared")


class CareMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    VIDEO = "video", _("Teleconsultation by video")
    TELEPHONE = "telephone", _("By telephone")


class SpecialSituation(models.TextChoices):
    """Situations in which the pathway or teleconsultation conditions do not apply."""

    NONE = "none", _("None")
    EMERGENCY = "emergency", _("Emergency")
    TREATING_DOCTOR_UNAVAILABLE = (
        "treating_doctor_unavailable",
        _("No médecin traitant available (local coordinated organisation)"),
    )
    DETAINED = "detained", _("Detained person")
    NURSING_HOME = "nursing_home", _("Nursing-home resident")


class Flag(models.TextChoices):
    TELECONSULTATION_NOT_REIMBURSABLE = (
        "teleconsultation_not_reimbursable",
        _("This teleconsultation is not reimbursable"),
    )
    WRITTEN_INFORMATION_REQUIRED = (
        "written_information_required",
        _("The practitioner must inform you in writing beforehand"),
    )
    OUTSIDE_PATHWAY = "outside_pathway", _("Outside the coordinated care pathway")
    PARTICIPATION_CAP_REACHED = (
        "participation_cap_reached",
        _("Yearly cap of the participation forfaitaire reached"),
    )
    NON_OPTAM_COVERAGE_CAPPED = (
        "non_optam_coverage_capped",
        _("Mutuelle coverage capped for a practitioner without OPTAM"),
    )
    C2S_OVERRUN_NOT_ALLOWED = (
        "c2s_overrun_not_allowed",
        _("No overrun may be charged to a C2S beneficiary"),
    )
    CONTRACT_CAP_REACHED = (
        "contract_cap_reached",
        _("The yearly ceiling of the mutuelle is reached"),
    )
    NO_COMPLEMENTARY = "no_complementary", _("No mutuelle")


#: Specialties a patient may consult directly and keep the pathway rate
#: (Code de la sécurité sociale, L162-5-3; psychiatry for ages 16 to 25 only).
DIRECT_ACCESS_SPECIALTIES = frozenset(
    {Specialty.GYNAECOLOGY, Specialty.OPHTHALMOLOGY, Specialty.STOMATOLOGY}
)
PSYCHIATRY_DIRECT_ACCESS_AGES = range(16, 26)
#: Under this age the coordinated care pathway does not apply.
PATHWAY_MINIMUM_AGE = 16


# --- Inputs -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActInput:
    code: str
    performed_on: dt.date
    fee: Decimal
    mode: CareMode = CareMode.IN_PERSON

    def __post_init__(self) -> None:
        if Decimal(self.fee) < 0:
            raise ValueError("The fee cannot be negative.")


@dataclass(frozen=True)
class PractitionerInput:
    sector: Sector
    specialty: Specialty = Specialty.GENERAL_PRACTICE


@dataclass(frozen=True)
class PatientInput:
    pathway: Pathway
    age: int | None = None
    birth_date: dt.date | None = None
    has_ald: bool = False
    act_related_to_ald: bool = False
    c2s: bool = False
    pregnant_six_months_or_more: bool = False
    seen_in_person_within_12_months: bool = False
    special_situation: SpecialSituation = SpecialSituation.NONE
    participation_paid_this_year: Decimal = ZERO

    def __post_init__(self) -> None:
        if (self.age is None) == (self.birth_date is None):
            raise ValueError("Give the patient's age or birth date, not both.")
        if self.age is not None and self.age < 0:
            raise ValueError("The age cannot be negative.")
        if Decimal(self.participation_paid_this_year) < 0:
            raise ValueError("The participation already paid cannot be negative.")

    def age_on(self, day: dt.date) -> int:
        if self.birth_date is None:
            return int(self.age or 0)
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class ContractInput:
    """A mutuelle contract expressed as AMO + AMC reaching X% of the base."""

    coverage_percent: Decimal
    responsible: bool = True
    #: Coverage promised for practitioners without OPTAM; the OPTAM level if None.
    non_optam_coverage_percent: Decimal | None = None
    #: What the contract may still pay for overruns this year; no ceiling if None.
    yearly_cap_remaining: Decimal | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if Decimal(self.coverage_percent) < 0:
            raise ValueError("The coverage cannot be negative.")


@dataclass(frozen=True)
class EstimateInput:
    act: ActInput
    practitioner: PractitionerInput
    patient: PatientInput
    contract: ContractInput | None = None


@dataclass(frozen=True)
class ContributionRule:
    kind: ContributionKind
    amount_per_act: Decimal
    yearly_cap: Decimal
    adult_from_age: int


@dataclass(frozen=True)
class TariffRules:
    """Every dated figure the estimate of one act needs, on the act's date."""

    act_code: str
    act_label: str
    act_kind: ActKind
    grid: TariffGrid
    base: Decimal
    tariff_valid_from: dt.date
    standard_rate: Decimal
    outside_pathway_rate: Decimal
    ald_rate: Decimal
    maternity_rate: Decimal
    contribution: ContributionRule | None
    written_information_threshold: Decimal
    non_optam_overrun_cap: Decimal
    non_optam_overrun_gap: Decimal

    def rate(self, situation: RateSituation) -> Decimal:
        return {
            RateSituation.STANDARD: self.standard_rate,
            RateSituation.OUTSIDE_PATHWAY: self.outside_pathway_rate,
            RateSituation.ALD: self.ald_rate,
            RateSituation.MATERNITY: self.maternity_rate,
        }[situation]


# --- Result -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplanationLine:
    text: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class Estimate:
    act_code: str
    fee: Decimal
    base: Decimal
    rate: Decimal
    amo: Decimal
    amc: Decimal
    out_of_pocket: Decimal
    participation: Decimal
    reimbursable: bool
    flags: frozenset[Flag]
    lines: tuple[ExplanationLine, ...]

    @property
    def total_reimbursed(self) -> Decimal:
        return self.amo + self.amc


# --- Formatting helpers (the explanation speaks the active language) ---------------


def format_euros(amount: Decimal) -> str:
    """An amount in the active language: 1 234,50 € in French, €1,234.50 in English."""
    return gettext("€%(amount)s") % {
        "amount": number_format(money(amount), 2, force_grouping=True)
    }


def _pct(value: Decimal) -> str:
    normalised = Decimal(value).normalize()
    if normalised == normalised.to_integral():
        normalised = normalised.quantize(Decimal(1))
    return gettext("%(rate)s%%") % {"rate": number_format(normalised)}


class _Explanation:
    def __init__(self) -> None:
        self.lines: list[ExplanationLine] = []
        self.flags: set[Flag] = set()

    def add(self, text: str, amount: Decimal | None = None) -> None:
        self.lines.append(ExplanationLine(text=text, amount=amount))

    def flag(self, flag: Flag, text: str) -> None:
        self.flags.add(flag)
        self.add(text)


# --- The estimate -------------------------------------------------------------------


def compute_estimate(request: EstimateInput, rules: TariffRules) -> Estimate:
    """Split the fee of one act between the AMO, the mutuelle and the patient."""
    act, practitioner, patient = request.act, request.practitioner, request.patient
    if act.code != rules.act_code:
        raise ValueError("The tariff rules were resolved for another act.")
    if GRID_OF_SECTOR[Sector(practitioner.sector)] != rules.grid:
        raise ValueError("The tariff rules were resolved for another sector.")

    out = _Explanation()
    age = patient.age_on(act.performed_on)
    fee = money(Decimal(act.fee))
    out.add(gettext("Fee charged by the practitioner"), fee)
    out.add(
        gettext(
            "Reimbursement base of %(code)s (%(label)s), %(grid)s, tariff in force "
            "since %(date)s"
        )
        % {
            "code": rules.act_code,
            "label": rules.act_label,
            "grid": TariffGrid(rules.grid).label,
            "date": rules.tariff_valid_from.strftime("%d/%m/%Y"),
        },
        money(rules.base),
    )
    # The Assurance Maladie never reimburses more than what was charged.
    base = min(money(rules.base), fee)
    if base < money(rules.base):
        out.add(gettext("The fee is below the tariff: the base is the fee."), base)

    if fee > money(rules.base) and fee >= rules.written_information_threshold:
        # Arrêté of 30 May 2018: written information before any act whose fees,
        # overruns included, reach the threshold.
        out.flag(
            Flag.WRITTEN_INFORMATION_REQUIRED,
            gettext(
                "Fees of %(threshold)s or more with an overrun: the practitioner "
                "must give you written information before the act."
            )
            % {"threshold": format_euros(rules.written_information_threshold)},
        )

    direct_access = practitioner.specialty in DIRECT_ACCESS_SPECIALTIES or (
        practitioner.specialty == Specialty.PSYCHIATRY
        and age in PSYCHIATRY_DIRECT_ACCESS_AGES
    )
    teleconsultation = (
        act.mode != CareMode.IN_PERSON or rules.act_kind == ActKind.TELECONSULTATION
    )
    # The teleconsultation exceptions (no médecin traitant available, detention,
    # nursing home) also give the in-person rate; in person only emergencies do.
    if teleconsultation:
        exempt_situation = patient.special_situation != SpecialSituation.NONE
    else:
        exempt_situation = patient.special_situation == SpecialSituation.EMERGENCY
    in_pathway = (
        patient.pathway in (Pathway.TREATING_DOCTOR, Pathway.REFERRED)
        or direct_access
        or age < PATHWAY_MINIMUM_AGE
        or exempt_situation
    )
    if patient.pathway == Pathway.DIRECT and in_pathway:
        if direct_access:
            out.add(gettext("Direct-access specialty: the pathway rate applies."))
        elif age < PATHWAY_MINIMUM_AGE:
            out.add(gettext("Under 16: the coordinated care pathway does not apply."))
        else:
            out.add(
                gettext("%(situation)s: the coordinated care pathway does not apply.")
                % {"situation": SpecialSituation(patient.special_situation).label}
            )

    if teleconsultation:
        refusal = _teleconsultation_refusal(
            act=act, patient=patient, direct_access=direct_access, age=age
        )
        if refusal:
            out.flag(Flag.TELECONSULTATION_NOT_REIMBURSABLE, refusal)
            out.add(
                gettext(
                    "Neither the Assurance Maladie nor the mutuelle reimburses it: "
                    "you pay the whole fee."
                ),
                fee,
            )
            return Estimate(
                act_code=rules.act_code,
                fee=fee,
                base=base,
                rate=ZERO,
                amo=ZERO,
                amc=ZERO,
                out_of_pocket=fee,
                participation=ZERO,
                reimbursable=False,
                flags=frozenset(out.flags),
                lines=tuple(out.lines),
            )

    # Rate: ALD and maternity exempt from the ticket modérateur inside the pathway;
    # outside it the reduced rate applies to every patient (L162-5-3).
    if patient.pregnant_six_months_or_more:
        pathway_situation = RateSituation.MATERNITY
    elif patient.has_ald and patient.act_related_to_ald:
        pathway_situation = RateSituation.ALD
    else:
        pathway_situation = RateSituation.STANDARD
    situation = pathway_situation if in_pathway else RateSituation.OUTSIDE_PATHWAY
    rate = rules.rate(situation)
    if not in_pathway:
        out.flag(
            Flag.OUTSIDE_PATHWAY,
            gettext(
                "Outside the coordinated care pathway: the Assurance Maladie "
                "reimburses %(rate)s instead of %(pathway_rate)s."
            )
            % {"rate": _pct(rate), "pathway_rate": _pct(rules.rate(pathway_situation))},
        )
    gross_amo = money(base * rate / HUNDRED)
    # The share lost by leaving the pathway, which no contrat responsable may cover.
    penalty = money(base * (rules.rate(pathway_situation) - rate) / HUNDRED)
    out.add(
        gettext("Assurance Maladie: %(rate)s of %(base)s (%(situation)s)")
        % {
            "rate": _pct(rate),
            "base": format_euros(base),
            "situation": RateSituation(situation).label,
        },
        gross_amo,
    )

    participation = _participation(
        rules=rules, patient=patient, age=age, gross_amo=gross_amo, out=out
    )
    amo = gross_amo - participation

    contract = request.contract
    if patient.c2s:
        # The Complémentaire santé solidaire pays the ticket modérateur and
        # practitioners must charge the tariff: it acts as a 100% contract.
        contract = ContractInput(
            coverage_percent=HUNDRED,
            responsible=True,
            name=gettext("Complémentaire santé solidaire"),
        )
        if fee > money(rules.base):
            out.flag(
                Flag.C2S_OVERRUN_NOT_ALLOWED,
                gettext(
                    "As a C2S beneficiary you may not be charged an overrun: "
                    "ask the practitioner to apply the tariff."
                ),
            )
    if contract is None:
        amc = ZERO
        out.flag(Flag.NO_COMPLEMENTARY, gettext("No mutuelle: nothing more is paid."))
    else:
        amc = _complementary_share(
            contract=contract,
            rules=rules,
            sector=Sector(practitioner.sector),
            fee=fee,
            base=base,
            gross_amo=gross_amo,
            amo=amo,
            penalty=penalty,
            in_pathway=in_pathway,
            out=out,
        )

    out.add(gettext("Paid by the Assurance Maladie"), amo)
    out.add(gettext("Paid by the mutuelle"), amc)
    out_of_pocket = fee - amo - amc
    out.add(gettext("Left for you to pay"), out_of_pocket)
    return Estimate(
        act_code=rules.act_code,
        fee=fee,
        base=base,
        rate=rate,
        amo=amo,
        amc=amc,
        out_of_pocket=out_of_pocket,
        participation=participation,
        reimbursable=True,
        flags=frozenset(out.flags),
        lines=tuple(out.lines),
    )


def _teleconsultation_refusal(
    *, act: ActInput, patient: PatientInput, direct_access: bool, age: int
) -> str:
    """Why a teleconsultation is not reimbursable, or "" when it is."""
    if act.mode == CareMode.TELEPHONE:
        return gettext("A telephone call is not a teleconsultation: not reimbursed.")
    exempt = (
        direct_access
        or age < PATHWAY_MINIMUM_AGE
        or patient.special_situation != SpecialSituation.NONE
    )
    if exempt:
        return ""
    if patient.pathway == Pathway.DIRECT:
        return gettext(
            "A teleconsultation outside the coordinated care pathway is not reimbursed."
        )
    if not patient.seen_in_person_within_12_months:
        return gettext(
            "A teleconsultation is reimbursed only if this practitioner saw you in "
            "person within the last 12 months."
        )
    return ""


def _participation(
    *,
    rules: TariffRules,
    patient: PatientInput,
    age: int,
    gross_amo: Decimal,
    out: _Explanation,
) -> Decimal:
    """The flat contribution deducted from the AMO share, within its yearly cap."""
    rule = rules.contribution
    if rule is None:
        return ZERO
    label = ContributionKind(rule.kind).label
    if age < rule.adult_from_age:
        out.add(gettext("%(label)s: not due for minors.") % {"label": label}, ZERO)
        return ZERO
    if patient.pregnant_six_months_or_more:
        out.add(
            gettext("%(label)s: not due from the sixth month of pregnancy.")
            % {"label": label},
            ZERO,
        )
        return ZERO
    if patient.c2s:
        out.add(
            gettext("%(label)s: not due for C2S beneficiaries.") % {"label": label},
            ZERO,
        )
        return ZERO
    remaining = max(
        ZERO, money(rule.yearly_cap) - money(patient.participation_paid_this_year)
    )
    due = min(money(rule.amount_per_act), remaining)
    if due < money(rule.amount_per_act):
        out.flag(
            Flag.PARTICIPATION_CAP_REACHED,
            gettext("%(label)s: %(paid)s already paid this year out of a %(cap)s cap.")
            % {
                "label": label,
                "paid": format_euros(patient.participation_paid_this_year),
                "cap": format_euros(rule.yearly_cap),
            },
        )
    # It is deducted from the reimbursement, so it cannot exceed it.
    due = min(due, gross_amo)
    out.add(
        gettext("%(label)s deducted from the reimbursement") % {"label": label}, -due
    )
    return due


def _complementary_share(
    *,
    contract: ContractInput,
    rules: TariffRules,
    sector: Sector,
    fee: Decimal,
    base: Decimal,
    gross_amo: Decimal,
    amo: Decimal,
    penalty: Decimal,
    in_pathway: bool,
    out: _Explanation,
) -> Decimal:
    """The mutuelle's share: AMO + AMC reach the contract's % of the base."""
    coverage = Decimal(contract.coverage_percent)
    name = contract.name or gettext("Mutuelle")
    if rules.grid != TariffGrid.OPTAM:
        if contract.non_optam_coverage_percent is not None:
            coverage = Decimal(contract.non_optam_coverage_percent)
        if contract.responsible:
            # Contrat responsable (CSS R871-2): without OPTAM, overruns are covered
            # up to 100% of the base and at least 20 points below OPTAM coverage.
            optam_overrun = max(ZERO, Decimal(contract.coverage_percent) - HUNDRED)
            allowed_overrun = max(
                ZERO,
                min(
                    rules.non_optam_overrun_cap,
                    optam_overrun - rules.non_optam_overrun_gap,
                ),
            )
            if coverage > HUNDRED + allowed_overrun:
                coverage = HUNDRED + allowed_overrun
                out.flag(
                    Flag.NON_OPTAM_COVERAGE_CAPPED,
                    gettext(
                        "Contrat responsable and practitioner without OPTAM: "
                        "coverage limited to %(coverage)s of the base."
                    )
                    % {"coverage": _pct(coverage)},
                )
    if contract.responsible:
        if not in_pathway and sector == Sector.SECTOR_1 and coverage > HUNDRED:
            # Outside the pathway a sector 1 overrun is a dépassement autorisé,
            # which a contrat responsable may not cover.
            coverage = HUNDRED
            out.add(
                gettext(
                    "Outside the pathway a contrat responsable does not cover the "
                    "authorised overrun."
                )
            )
        # Neither the participation forfaitaire nor the pathway penalty is covered:
        # the mutuelle tops up from what the AMO would pay in the pathway.
        covered = gross_amo + penalty
        if amo < gross_amo or penalty:
            out.add(
                gettext(
                    "A contrat responsable never reimburses the participation "
                    "forfaitaire nor the pathway penalty."
                )
            )
    else:
        # A contract that is not responsable may cover both within its ceiling.
        covered = amo
    ceiling = money(base * coverage / HUNDRED)
    amc = max(ZERO, min(ceiling - covered, fee - covered))
    out.add(
        gettext(
            "%(name)s: up to %(coverage)s of the base (%(ceiling)s) together with "
            "the Assurance Maladie%(kind)s"
        )
        % {
            "name": name,
            "coverage": _pct(coverage),
            "ceiling": format_euros(ceiling),
            "kind": ""
            if contract.responsible
            else gettext(", contract not responsable"),
        },
        amc,
    )

    cap = contract.yearly_cap_remaining
    if cap is not None:
        cap = max(ZERO, money(cap))
        if contract.responsible:
            # The ticket modérateur is always covered by a contrat responsable;
            # the yearly ceiling limits what goes beyond it.
            ticket = max(
                ZERO,
                min(money(base * min(coverage, HUNDRED) / HUNDRED) - covered, amc),
            )
            limited = ticket + min(amc - ticket, cap)
        else:
            limited = min(amc, cap)
        if limited < amc:
            amc = limited
            out.flag(
                Flag.CONTRACT_CAP_REACHED,
                gettext(
                    "The mutuelle's yearly ceiling leaves %(cap)s: its share is "
                    "reduced to %(amc)s."
                )
                % {"cap": format_euros(cap), "amc": format_euros(amc)},
            )
    return amc
