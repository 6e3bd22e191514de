"""Whether a teleconsultation is reimbursed by the Assurance Maladie.

A teleconsultation is reimbursed (at the in-person rate) only when it is done in
the coordinated care pathway (the patient declared a médecin traitant, who does
it or referred them) and the practitioner saw the patient in person within the
last twelve months. Direct-access specialties and patients under 16 are exempt
from both conditions. Otherwise it is not reimbursed at all, by the Assurance
Maladie nor by the mutuelle: the patient must know before booking.
Source: ameli.fr, "Téléconsultation" (see the project's domain notes).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PATHWAY_MINIMUM_AGE = 16
IN_PERSON_LOOKBACK = timedelta(days=365)

OUTSIDE_PATHWAY = "outside_pathway"
NOT_SEEN_IN_PERSON = "not_seen_in_person"
DIRECT_ACCESS = "direct_access"
UNDER_16 = "under_16"

MESSAGES = {
    OUTSIDE_PATHWAY: _(
        "You have not declared a médecin traitant: a teleconsultation outside the "
        "coordinated care pathway is not reimbursed."
    ),
    NOT_SEEN_IN_PERSON: _(
        "This practitioner has not seen you in person in the last 12 months: the "
        "teleconsultation is not reimbursed."
    ),
    DIRECT_ACCESS: _("Direct-access specialty: the usual conditions do not apply."),
    UNDER_16: _("Under 16: the usual conditions do not apply."),
}


@dataclass(frozen=True)
class Eligibility:
    reimbursable: bool
    #: Codes of the conditions not met (empty when reimbursable).
    reasons: tuple[str, ...] = ()
    #: Why the conditions do not apply, if they do not ("" otherwise).
    exemption: str = ""
    messages: list[str] = field(default_factory=list, compare=False)


def _specialty_of(practitioner, specialty):
    if specialty is not None:
        return specialty
    return practitioner.specialties.order_by("sort_order").first()


def _in_pathway(patient, on: datetime) -> bool:
    return (
        patient.insurance_coverages.current(timezone.localdate(on))
        .filter(treating_doctor_declared=True)
        .exists()
    )


def seen_in_person(patient, practitioner, *, on: datetime) -> bool:
    """An in-person appointment with this practitioner, done in the last year."""
    from appointments.models import Appointment

    return Appointment.objects.filter(
        patient=patient,
        practitioner=practitioner,
        mode=Appointment.Mode.IN_PERSON,
        state=Appointment.State.DONE,
        starts_at__gte=on - IN_PERSON_LOOKBACK,
        starts_at__lte=on,
    ).exists()


def check_eligibility(
    *, patient, practitioner, specialty=None, on: datetime | None = None
) -> Eligibility:
    """The reimbursement conditions of a teleconsultation of `patient` with
    `practitioner` at `on` (now by default): which are not met, and why."""
    on = on or timezone.now()
    chosen = _specialty_of(practitioner, specialty)
    exemption = ""
    if patient.birth_date and patient.age < PATHWAY_MINIMUM_AGE:
        exemption = UNDER_16
    elif chosen is not None and chosen.direct_access:
        exemption = DIRECT_ACCESS
    if exemption:
        return Eligibility(True, (), exemption, [str(MESSAGES[exemption])])
    reasons = []
    if not _in_pathway(patient, on):
        reasons.append(OUTSIDE_PATHWAY)
    if not seen_in_person(patient, practitioner, on=on):
        reasons.append(NOT_SEEN_IN_PERSON)
    return Eligibility(
        not reasons, tuple(reasons), "", [str(MESSAGES[code]) for code in reasons]
    )


def message_for(code: str) -> str:
    return str(MESSAGES.get(code, ""))
