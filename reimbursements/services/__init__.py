"""Every write that matters in reimbursements; admin, portal and API call these.

Split by subject: estimates (the engine with dated tariffs, recorded acts and the
yearly participation cap), procedures (paperwork with deadlines), claims (their
life from draft to closed, documents, payments) and follow_up (chasing payers).
"""

from .claims import (
    STAFF_PERMISSION,
    acknowledge_claim,
    add_payment_proof,
    appeal_claim,
    attach_documents,
    attach_invoice_pdf,
    attach_new_document,
    claim_for_payer_token,
    close_claim,
    is_claims_staff,
    is_payer_of,
    open_claim,
    open_claim_document,
    open_claims_for_act,
    payer_link,
    record_claim_payment,
    reject_claim,
    send_claim,
    tolerance,
)
from .estimates import (
    BookingEstimate,
    estimate_booking,
    estimate_for,
    estimate_invoice,
    estimate_quote,
    participation_paid,
    record_act,
)
from .follow_up import chase_claim, chase_unanswered_claims
from .procedures import (
    REMINDER_TEMPLATE,
    cancel_procedure,
    complete_procedure,
    open_procedure,
    remind_procedure_deadlines,
    start_procedure,
    wait_on_third_party,
)

__all__ = [
    "BookingEstimate",
    "REMINDER_TEMPLATE",
    "STAFF_PERMISSION",
    "acknowledge_claim",
    "add_payment_proof",
    "appeal_claim",
    "attach_documents",
    "attach_invoice_pdf",
    "attach_new_document",
    "cancel_procedure",
    "chase_claim",
    "chase_unanswered_claims",
    "claim_for_payer_token",
    "close_claim",
    "complete_procedure",
    "estimate_booking",
    "estimate_for",
    "estimate_invoice",
    "estimate_quote",
    "is_claims_staff",
    "is_payer_of",
    "open_claim",
    "open_claim_document",
    "open_claims_for_act",
    "open_procedure",
    "participation_paid",
    "payer_link",
    "record_act",
    "record_claim_payment",
    "reject_claim",
    "remind_procedure_deadlines",
    "send_claim",
    "start_procedure",
    "tolerance",
    "wait_on_third_party",
]
