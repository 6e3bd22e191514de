"""Every write that matters on teleconsultations; portal, console, admin, API and
tasks call these.

Split by subject: sessions (room, window, joining, admission, documents, notes,
end, practitioner links) and support (device-check help, phone fallback alerts).
"""

from . import sessions
from .sessions import (
    Refused,
    Visitor,
    admit_patient,
    check_window,
    end_session,
    ensure_session,
    issue_practitioner_pass,
    record_join,
    record_no_show,
    redeem_pass,
    request_phone_fallback,
    save_notes,
    send_pass_code,
    share_document,
    window_of,
)
from .support import (
    CHECKS,
    STATUSES,
    alert_on_duty_concierge,
    clean_check_results,
    open_support_ticket,
    resolve_support_ticket,
)

__all__ = [
    "CHECKS",
    "STATUSES",
    "Refused",
    "Visitor",
    "admit_patient",
    "alert_on_duty_concierge",
    "check_window",
    "clean_check_results",
    "end_session",
    "ensure_session",
    "issue_practitioner_pass",
    "open_support_ticket",
    "record_join",
    "record_no_show",
    "redeem_pass",
    "request_phone_fallback",
    "resolve_support_ticket",
    "save_notes",
    "send_pass_code",
    "sessions",
    "share_document",
    "window_of",
]
