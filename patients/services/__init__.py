"""Every write that matters on a patient file; admin, portal and API call these.

Split by subject: registration (identity, duplicates, merge), consents, medical
(profile, insurance, documents, summary, break-the-glass), gdpr (export, erasure,
retention), keys (re-encryption), care_requests (intake, triage, the state machine,
hooks for other apps) and care_team (assignment, messages, notes, interactions,
tasks, care plans, workload, missed deadlines).
"""

from . import care_requests, care_team
from .consents import (
    find_recipient,
    give_health_data_consent,
    has_health_data_consent,
    require_health_data_consent,
    revoke_sharing,
    share_with,
    withdraw_health_data_consent,
)
from .gdpr import (
    build_export,
    carry_out_erasure,
    end_guardianships_of_adults,
    export_data,
    purge_expired_medical_records,
    purge_patient,
    reject_erasure,
    request_erasure,
)
from .keys import RotationReport, rotate_encryption_keys
from .medical import (
    break_the_glass,
    delete_document,
    document_filename,
    open_document,
    render_summary_pdf,
    require_medical_access,
    save_insurance_coverage,
    sweep_orphan_files,
    update_medical_profile,
    upload_document,
)
from .registration import (
    IDENTITY_FIELDS,
    PossibleDuplicate,
    add_dependant,
    assign_staff,
    duplicates_of,
    find_duplicates,
    merge_patients,
    register_patient,
    touch_activity,
    update_identity,
)

__all__ = [
    "IDENTITY_FIELDS",
    "PossibleDuplicate",
    "RotationReport",
    "add_dependant",
    "assign_staff",
    "break_the_glass",
    "care_requests",
    "care_team",
    "build_export",
    "carry_out_erasure",
    "delete_document",
    "document_filename",
    "duplicates_of",
    "end_guardianships_of_adults",
    "export_data",
    "find_duplicates",
    "find_recipient",
    "give_health_data_consent",
    "has_health_data_consent",
    "merge_patients",
    "open_document",
    "purge_expired_medical_records",
    "purge_patient",
    "register_patient",
    "reject_erasure",
    "render_summary_pdf",
    "request_erasure",
    "require_health_data_consent",
    "require_medical_access",
    "revoke_sharing",
    "rotate_encryption_keys",
    "save_insurance_coverage",
    "share_with",
    "sweep_orphan_files",
    "touch_activity",
    "update_identity",
    "update_medical_profile",
    "upload_document",
    "withdraw_health_data_consent",
]
