"""The patient file in the portal, under /patients/."""

from django.urls import path, register_converter

from . import care_views, views


class ReferenceConverter:
    """A patient reference, P- and six characters, in any case."""

    regex = "[Pp]-[2-9A-Za-z]{6}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "patient_ref")


class CareRequestReferenceConverter(ReferenceConverter):
    """A care request reference, D- and six characters, in any case."""

    regex = "[Dd]-[2-9A-Za-z]{6}"


register_converter(CareRequestReferenceConverter, "request_ref")

app_name = "patients"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.register, name="register"),
    path("dependants/new/", views.add_dependant, name="add-dependant"),
    path("shared-with-me/", views.shared_with_me, name="shared"),
    path("requests/", care_views.index, name="care-requests"),
    path("requests/new/", care_views.new, name="care-request-new"),
    path("requests/<request_ref:reference>/", care_views.detail, name="care-request"),
    path(
        "requests/<request_ref:reference>/messages/",
        care_views.message,
        name="care-request-message",
    ),
    path(
        "requests/<request_ref:reference>/cancel/",
        care_views.cancel,
        name="care-request-cancel",
    ),
    path("<patient_ref:reference>/care-plan/", care_views.care_plan, name="care-plan"),
    path("<patient_ref:reference>/", views.detail, name="detail"),
    path("<patient_ref:reference>/identity/", views.identity_edit, name="identity"),
    path("<patient_ref:reference>/insurance/", views.insurance_edit, name="insurance"),
    path("<patient_ref:reference>/medical/", views.medical_profile, name="medical"),
    path("<patient_ref:reference>/documents/", views.documents, name="documents"),
    path(
        "<patient_ref:reference>/documents/<uuid:document_id>/",
        views.document_download,
        name="document-download",
    ),
    path("<patient_ref:reference>/summary.pdf", views.summary_pdf, name="summary"),
    path("<patient_ref:reference>/consents/", views.consents, name="consents"),
    path(
        "<patient_ref:reference>/consents/give/",
        views.give_consent,
        name="consent-give",
    ),
    path(
        "<patient_ref:reference>/consents/withdraw/",
        views.withdraw_consent,
        name="consent-withdraw",
    ),
    path("<patient_ref:reference>/sharing/new/", views.share, name="share"),
    path(
        "<patient_ref:reference>/sharing/<uuid:consent_id>/revoke/",
        views.revoke,
        name="share-revoke",
    ),
    path("<patient_ref:reference>/access-log/", views.access_log, name="access-log"),
    path("<patient_ref:reference>/rights/", views.rights, name="rights"),
    path("<patient_ref:reference>/export/", views.export, name="export"),
    path("<patient_ref:reference>/erasure/", views.request_erasure, name="erasure"),
]
