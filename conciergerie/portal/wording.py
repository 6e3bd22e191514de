"""Plain words for the states the portal shows: what it means and what comes next.

The models' state labels serve the back-office; a patient reads these instead.
"""

from django.utils.translation import gettext_lazy as _

CARE_REQUEST = {
    "received": _(
        "We have received your request. A medical adviser will read it shortly."
    ),
    "qualified": _(
        "A medical adviser has reviewed your request. We will now look for the "
        "right practitioner."
    ),
    "matching": _("We are looking for the right practitioner for you."),
    "proposed": _(
        "We have suggested appointment times: choose the one that suits you."
    ),
    "scheduled": _("Your appointment is booked. We will remind you the day before."),
    "in_care": _(
        "Your consultation has taken place. We are waiting for the practitioner's "
        "report."
    ),
    "follow_up": _(
        "We are following up: report, prescriptions, exams or next appointment."
    ),
    "closed": _("This request is complete. Nothing more to do."),
    "cancelled": _("This request was cancelled."),
    "emergency": _(
        "This request was handled as an emergency. If you feel worse, call 15 "
        "or 112 now."
    ),
}

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

_TABLES = {
    "care_request": CARE_REQUEST,
    "appointment": APPOINTMENT,
    "invoice": INVOICE,
    "claim": CLAIM,
}


def explain(kind: str, state: str) -> str:
    """The patient's sentence for a state; an unknown state reads as in progress."""
    return str(_TABLES[kind].get(state, _("In progress.")))
