"""Plain words for the states the portal shows: what it means and what comes next.

The models' state labels serve the back-office; a patient reads these instead.
Care requests keep their sentences beside their states, in patients.models.
"""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from patients.models import PUBLIC_STATUS as CARE_REQUEST

APPOINTMENT = {
    "held": _("Time reserved for you for a few minutes: confirm it to book it."),
    "booked": _("Booked."),
    "confirmed": _("Booked, and you confirmed you will come."),
    "done": _("The consultation took place."),
    "cancelled": _("Cancelled."),
    "late_cancelled": _("Cancelled less than the notice period before."),
    "no_show": _("Marked as missed: call us if you did attend."),
    "rescheduled": _("Moved to another time."),
    "expired": _("This time was not confirmed in time and is free again."),
}

INVOICE = {
    "draft": _("Being prepared."),
    "issued": _("To pay."),
    "partially_paid": _("Partly paid: the balance remains to pay."),
    "paid": _("Paid. Thank you."),
    "overdue": _("Payment is late: please pay it or call us to talk about it."),
    "cancelled": _("Cancelled by a credit note: nothing to pay."),
}

CLAIM = {
    "draft": _("We are preparing the claim."),
    "sent": _("Sent: we are waiting for the payer's answer."),
    "acknowledged": _("The payer has received it: payment is expected."),
    "paid": _("Paid by the payer."),
    "partially_paid": _("Partly paid: we are checking the rest."),
    "rejected": _("Refused by the payer: we will tell you what can still be done."),
    "appealed": _("We are contesting the payer's refusal for you."),
    "closed": _("Finished."),
}

#: Short labels for badges, where the models' labels speak back-office.
APPOINTMENT_LABELS = {
    "held": _("To confirm"),
    "booked": _("Booked"),
    "confirmed": _("Confirmed"),
    "done": _("Took place"),
    "cancelled": _("Appointment cancelled"),
    "late_cancelled": _("Cancelled late"),
    "no_show": _("Missed"),
    "rescheduled": _("Moved"),
    "expired": _("Not confirmed in time"),
}

INVOICE_LABELS = {
    "draft": _("Being prepared"),
    "issued": _("To pay"),
    "partially_paid": _("Partly paid"),
    "paid": _("Paid in full"),
    "overdue": _("Payment late"),
    "cancelled": _("Cancelled by credit note"),
}

_LABELS = {"appointment": APPOINTMENT_LABELS, "invoice": INVOICE_LABELS}

_TABLES: dict[str, Mapping[str, object]] = {
    "care_request": CARE_REQUEST,
    "appointment": APPOINTMENT,
    "invoice": INVOICE,
    "claim": CLAIM,
}


def explain(kind: str, state: str) -> str:
    """The patient's sentence for a state; an unknown state reads as in progress."""
    return str(_TABLES[kind].get(state, _("In progress.")))


def label(kind: str, state: str) -> str:
    """A badge's word or two for a state."""
    return str(_LABELS[kind].get(state, state))
