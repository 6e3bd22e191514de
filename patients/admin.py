"""The back-office side of the patient file.

Coordinators and managers see identity, contact, insurance and consents; medical
advisers also see the medical profile and documents, of the files assigned to them
or after breaking the glass. Every view of a file writes one access log row, and
every change goes through patients.services.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from conciergerie.audit.models import AccessLog
from conciergerie.fields import EncryptedCharField

from . import files, services
from .access import (
    AuditObject,
    MedicalAccess,
    audit,
    document_access,
    has_active_break_glass,
    medical_access,
    open_medical_files,
)
from .forms import NirField
from .models import (
    Channel,
    Document,
    ErasureRequest,
    Guardianship,
    HealthDataConsent,
    InsuranceCoverage,
    MedicalProfile,
    Patient,
    SharingConsent,
)

ENCRYPTED_ONE_LINE = {
    EncryptedCharField: {"widget": admin.widgets.AdminTextInputWidget},
}


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _adopt(obj, saved) -> None:
    """Make the admin's unsaved instance the row a service just created, so that
    the admin's history message and redirect describe it."""
    obj.__dict__.update(
        {key: value for key, value in saved.__dict__.items() if key != "_state"}
    )
    obj._state.adding = False
    obj._state.db = saved._state.db


# --- Inlines ------------------------------------------------------------------------
class InsuranceCoverageInline(admin.StackedInline):
    model = InsuranceCoverage
    extra = 0
    formfield_overrides = ENCRYPTED_ONE_LINE
    fieldsets = (
        (
            _("Assurance Maladie"),
            {
                "fields": (
                    ("regime", "beneficiary_status"),
                    "fund_name",
                    ("treating_doctor_declared", "treating_doctor_name"),
                    ("ald", "ald_label"),
                    "c2s",
                )
            },
        ),
        (
            _("Mutuelle"),
            {
                "fields": (
                    ("mutuelle_name", "contrat_responsable"),
                    ("mutuelle_contract_number", "mutuelle_member_number"),
                    "coverage_rate",
                    ("optam_overrun_rate", "non_optam_overrun_rate"),
                    (
                        "yearly_cap_consultations",
                        "yearly_cap_overruns",
                        "yearly_cap_total",
                    ),
                )
            },
        ),
        (_("Validity"), {"fields": (("valid_from", "valid_to"),)}),
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if (
            obj is not None
            and medical_access(request.user, obj) is MedicalAccess.GRANTED
        ):
            return fieldsets
        # The name of a long-term illness is medical data: only the flag shows.
        return [
            (
                name,
                {
                    **options,
                    "fields": tuple(
                        tuple(f for f in row if f != "ald_label")
                        if isinstance(row, tuple)
                        else row
                        for row in options["fields"]
                        if row != "ald_label"
                    ),
                },
            )
            for name, options in fieldsets
        ]


class GuardianshipInline(admin.TabularInline):
    model = Guardianship
    fk_name = "patient"
    extra = 0
    fields = ["guardian", "relationship", "created_at", "ended_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["guardian"]


class MedicalProfileInline(admin.StackedInline):
    model = MedicalProfile
    can_delete = False
    max_num = 1
    fields = [
        "medical_history",
        "allergies",
        "current_treatments",
        "specific_needs",
        "measurements",
        "updated_by",
        "updated_at",
    ]
    readonly_fields = ["updated_by", "updated_at"]


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        "kind",
        "title",
        "document_date",
        "source",
        "content_type",
        "size",
        "link",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("file"))
    def link(self, obj: Document) -> str:
        return format_html(
            '<a href="{}">{}</a>', obj.get_absolute_url(), gettext("Download")
        )


class HealthDataConsentInline(admin.TabularInline):
    model = HealthDataConsent
    extra = 0
    can_delete = False
    fields = [
        "given_at",
        "notice_version",
        "channel",
        "given_by",
        "recorded_by",
        "withdrawn_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SharingConsentInline(admin.TabularInline):
    model = SharingConsent
    extra = 0
    can_delete = False
    fields = ["recipient", "document", "granted_at", "expires_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


# --- Patients -----------------------------------------------------------------------
class PatientAdminForm(forms.ModelForm):
    registration_channel = forms.ChoiceField(
        label=_("registered through"),
        choices=[
            (Channel.PHONE, Channel.PHONE.label),
            (Channel.PAPER, Channel.PAPER.label),
            (Channel.ADMIN, Channel.ADMIN.label),
        ],
        initial=Channel.PHONE,
        required=False,
    )
    confirm_duplicate = forms.BooleanField(
        label=_("This is a different person: create the file anyway"), required=False
    )
    nir = NirField()
    health_data_consent = forms.BooleanField(
        label=_("The patient consents to the processing of their health data"),
        help_text=_("Read them the privacy notice first; the channel is recorded."),
        required=False,
    )

    class Meta:
        model = Patient
        fields = [*services.IDENTITY_FIELDS, "user", "referred_by", "assigned_staff"]

    def clean(self):
        cleaned = super().clean()
        if self.instance._state.adding and not self.errors:
            candidates = list(
                services.find_duplicates(
                    last_name=cleaned.get("last_name", ""),
                    first_names=cleaned.get("first_names", ""),
                    birth_date=cleaned.get("birth_date"),
                    nir=cleaned.get("nir", ""),
                    email=cleaned.get("email", ""),
                )
            )
            if candidates and not cleaned.get("confirm_duplicate"):
                links = format_html_join(
                    ", ",
                    '<a href="{}">{}</a>',
                    (
                        (reverse("admin:patients_patient_change", args=[c.pk]), str(c))
                        for c in candidates
                    ),
                )
                raise ValidationError(
                    format_html(
                        "{} {}. {}",
                        gettext("A file may already exist for this person:"),
                        links,
                        gettext(
                            "Open it instead, or tick the confirmation below if it "
                            "is someone else."
                        ),
                    ),
                    code="possible_duplicate",
                )
        return cleaned


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    form = PatientAdminForm
    change_form_template = "patients/admin/patient_change_form.html"
    view_on_site = False
    date_hierarchy = "created_at"
    list_display = [
        "reference",
        "display_name",
        "birth_date",
        "city",
        "has_account",
        "consented",
        "duplicate_review_needed",
        "created_at",
    ]
    list_filter = [
        "duplicate_review_needed",
        "registration_channel",
        ("erased_at", admin.EmptyFieldListFilter),
        ("merged_into", admin.EmptyFieldListFilter),
    ]
    search_fields = [
        "=reference",
        "last_name",
        "birth_last_name",
        "first_names",
        "email",
    ]
    search_help_text = _(
        "Reference, name, email or social security number (all 15 digits)."
    )
    autocomplete_fields = ["user", "referred_by", "assigned_staff"]
    formfield_overrides = ENCRYPTED_ONE_LINE
    actions = ["assign_to_me", "merge_two_files", "record_phone_consent"]
    show_full_result_count = False
    history_list_display = ["last_name", "city"]

    def get_queryset(self, request):
        return (
            Patient.objects.visible_to(request.user)
            .select_related("user")
            .prefetch_related("health_data_consents")
        )

    def get_fieldsets(self, request, obj=None):
        identity = [
            "last_name",
            "birth_last_name",
            "first_names",
            ("birth_date", "sex"),
            "birth_place_code",
            "nir",
        ]
        fieldsets = [
            (_("Identity"), {"fields": (["reference"] if obj else []) + identity}),
            (
                _("Contact"),
                {
                    "fields": [
                        "email",
                        "mobile_phone",
                        "address_line",
                        "address_complement",
                        ("postal_code", "city", "country"),
                    ]
                },
            ),
            (
                _("Preferences"),
                {
                    "fields": [
                        "preferred_language",
                        "reminder_channel",
                        ("quiet_hours_start", "quiet_hours_end"),
                    ]
                },
            ),
            (_("Follow-up"), {"fields": ["user", "referred_by", "assigned_staff"]}),
        ]
        if obj is None:
            fieldsets.append(
                (
                    _("Registration"),
                    {
                        "fields": [
                            "registration_channel",
                            "health_data_consent",
                            "confirm_duplicate",
                        ]
                    },
                )
            )
        else:
            fieldsets.append(
                (
                    _("Record"),
                    {
                        "fields": [
                            "registration_channel",
                            ("created_by", "created_at"),
                            "last_activity_at",
                            "consent_summary",
                            "duplicate_review_needed",
                            "duplicate_links",
                            "merged_into",
                            "erased_at",
                            "purged_at",
                        ]
                    },
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = [
            "reference",
            "created_by",
            "created_at",
            "last_activity_at",
            "consent_summary",
            "duplicate_links",
            "merged_into",
            "erased_at",
            "purged_at",
        ]
        if obj is not None:
            readonly.append("registration_channel")
            if obj.is_erased or obj.merged_into_id:
                return [f for f in self._all_field_names(request, obj) if f]
        return readonly

    def _all_field_names(self, request, obj):
        names = []
        for _name, options in self.get_fieldsets(request, obj):
            for row in options["fields"]:
                names.extend(row if isinstance(row, tuple | list) else [row])
        return names

    def get_inline_instances(self, request, obj=None):
        if obj is None:
            return []
        inlines = []
        user = request.user
        if user.has_perm("patients.view_insurancecoverage"):
            inlines.append(InsuranceCoverageInline)
        if user.has_perm("patients.view_guardianship"):
            inlines.append(GuardianshipInline)
        if medical_access(user, obj) is MedicalAccess.GRANTED:
            inlines += [MedicalProfileInline, DocumentInline]
        if user.has_perm("patients.view_healthdataconsent"):
            inlines.append(HealthDataConsentInline)
        if user.has_perm("patients.view_sharingconsent"):
            inlines.append(SharingConsentInline)
        return [inline(self.model, self.admin_site) for inline in inlines]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Files are pseudonymised or purged by services, never deleted by hand.
        return False

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    # --- Display ---------------------------------------------------------------------
    @admin.display(description=_("name"), ordering="last_name")
    def display_name(self, obj: Patient) -> str:
        return obj.full_name

    @admin.display(description=_("account"), boolean=True)
    def has_account(self, obj: Patient) -> bool:
        return obj.user_id is not None

    @admin.display(description=_("consent"), boolean=True)
    def consented(self, obj: Patient) -> bool:
        return any(c.withdrawn_at is None for c in obj.health_data_consents.all())

    @admin.display(description=_("consent to health data processing"))
    def consent_summary(self, obj: Patient) -> str:
        consent = obj.health_data_consents.filter(withdrawn_at__isnull=True).first()
        if consent is None:
            return gettext("None: no request, medical profile or document before it.")
        return gettext("Given on %(date)s (notice %(version)s, %(channel)s)") % {
            "date": timezone.localtime(consent.given_at).strftime("%d/%m/%Y"),
            "version": consent.notice_version,
            "channel": consent.get_channel_display(),
        }

    @admin.display(description=_("possible duplicates"))
    def duplicate_links(self, obj: Patient) -> str:
        return (
            format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                (
                    (reverse("admin:patients_patient_change", args=[c.pk]), str(c))
                    for c in obj.possible_duplicates.all()
                ),
            )
            or "—"
        )

    def get_search_results(self, request, queryset, search_term):
        from conciergerie import crypto

        from .models import normalise_reference
        from .validators import normalise_nir

        term = search_term.strip()
        nir = normalise_nir(term)
        if len(nir) == 15 and nir[:1].isdigit():
            hashes = crypto.blind_indexes(nir, purpose="patient-nir")
            return queryset.filter(nir_hash__in=hashes), False
        if term.upper().startswith("P-"):
            return queryset.filter(reference=normalise_reference(term)), False
        return super().get_search_results(request, queryset, search_term)

    # --- Views -----------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<path:object_id>/break-glass/",
                self.admin_site.admin_view(self.break_glass_view),
                name="patients_patient_break_glass",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if obj is not None:
            access = medical_access(request.user, obj)
            extra_context["medical_access"] = access.value
            extra_context["break_glass_url"] = reverse(
                "admin:patients_patient_break_glass", args=[obj.pk]
            )
        response = super().change_view(request, object_id, form_url, extra_context)
        if obj is not None and request.method == "GET" and response.status_code == 200:
            granted = extra_context["medical_access"] == MedicalAccess.GRANTED.value
            audit(
                by=request.user,
                action=AccessLog.Action.READ,
                patient=obj,
                what=AuditObject.MEDICAL_FILE if granted else AuditObject.IDENTITY,
                object_id=obj.reference,
                request=request,
            )
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, object_id)
        if obj is not None and response.status_code == 200:
            audit(
                by=request.user,
                action=AccessLog.Action.READ,
                patient=obj,
                what=AuditObject.IDENTITY,
                object_id=obj.reference,
                request=request,
                reason=gettext("History of changes"),
            )
        return response

    def break_glass_view(self, request, object_id):
        patient = self.get_object(request, object_id)
        if patient is None or not self.has_view_permission(request, patient):
            raise PermissionDenied
        if medical_access(request.user, patient) is MedicalAccess.DENIED:
            raise PermissionDenied
        form = BreakGlassForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.break_the_glass(
                    user=request.user,
                    patient=patient,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.warning(
                    request,
                    gettext(
                        "Access recorded with your reason; the patient will see it."
                    ),
                )
                return HttpResponseRedirect(
                    request.GET.get("next")
                    if _is_safe_next(request)
                    else reverse("admin:patients_patient_change", args=[patient.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": patient,
            "form": form,
            "already_open": has_active_break_glass(request.user, patient),
            "title": gettext("Open a file outside your assignment"),
        }
        return TemplateResponse(request, "patients/admin/break_glass.html", context)

    # --- Writes ----------------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        try:
            if change:
                services.update_identity(
                    patient=obj,
                    by=request.user,
                    changed_fields=form.changed_data,
                    request=request,
                )
            else:
                services.register_patient(
                    patient=obj,
                    by=request.user,
                    channel=form.cleaned_data.get("registration_channel")
                    or Channel.PHONE,
                    user=obj.user,
                    referred_by=obj.referred_by,
                    confirm_duplicate=True,
                    health_data_consent=form.cleaned_data.get("health_data_consent"),
                    request=request,
                )
        except ValidationError as error:
            # The form checked the same rules; only a concurrent change gets here.
            raise PermissionDenied(_error_text(error)) from error

    def save_formset(self, request, form, formset, change):
        patient = form.instance
        if formset.model is MedicalProfile:
            for inline_form in formset.forms:
                if inline_form.has_changed():
                    services.update_medical_profile(
                        patient=patient,
                        by=request.user,
                        data=inline_form.cleaned_data,
                        request=request,
                    )
            # The admin's change message reads what a formset saved.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = (
                [],
                [],
                [],
            )
            return
        if formset.model is InsuranceCoverage:
            for coverage in formset.save(commit=False):
                services.save_insurance_coverage(
                    coverage=coverage, by=request.user, request=request
                )
            return
        instances = formset.save()
        if formset.model is Guardianship and (instances or formset.deleted_objects):
            audit(
                by=request.user,
                action=AccessLog.Action.UPDATE,
                patient=patient,
                what=AuditObject.GUARDIANSHIP,
                request=request,
            )

    # --- Actions ---------------------------------------------------------------------
    @admin.action(description=_("Assign the selected files to me"))
    def assign_to_me(self, request, queryset):
        for patient in queryset:
            try:
                services.assign_staff(
                    patient=patient,
                    staff=request.user,
                    by=request.user,
                    request=request,
                )
            except ValidationError as error:
                self.message_user(request, _error_text(error), messages.ERROR)
                return
        self.message_user(
            request,
            gettext("%(count)d files assigned to you.") % {"count": len(queryset)},
        )

    @admin.action(description=_("Record consent given by phone"))
    def record_phone_consent(self, request, queryset):
        for patient in queryset:
            services.give_health_data_consent(
                patient=patient, by=request.user, channel=Channel.PHONE, request=request
            )
        self.message_user(request, gettext("Consent recorded."))

    @admin.action(description=_("Merge two duplicate files"))
    def merge_two_files(self, request, queryset):
        patients = list(queryset[:3])
        if len(patients) != 2:
            self.message_user(
                request, gettext("Select exactly two files to merge."), messages.ERROR
            )
            return None
        keep_id = request.POST.get("keep")
        if request.POST.get("confirm") and keep_id in {str(p.pk) for p in patients}:
            keep = next(p for p in patients if str(p.pk) == keep_id)
            duplicate = next(p for p in patients if str(p.pk) != keep_id)
            try:
                services.merge_patients(
                    keep=keep, duplicate=duplicate, by=request.user, request=request
                )
            except ValidationError as error:
                self.message_user(request, _error_text(error), messages.ERROR)
                return None
            self.message_user(
                request,
                gettext("%(duplicate)s was merged into %(keep)s.")
                % {"duplicate": duplicate.reference, "keep": keep.reference},
            )
            return HttpResponseRedirect(
                reverse("admin:patients_patient_change", args=[keep.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "patients": patients,
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "title": gettext("Merge two files"),
        }
        return TemplateResponse(request, "patients/admin/merge_confirm.html", context)


def _is_safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.GET.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you open this file?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The patient and the data protection officer will read this reason. Do "
            "not write medical details here."
        ),
    )


# --- Documents ----------------------------------------------------------------------
class DocumentAdminForm(forms.ModelForm):
    file = forms.FileField(label=_("file"), required=True)

    class Meta:
        model = Document
        fields = ["patient", "kind", "title", "document_date", "source"]

    def clean(self):
        cleaned = super().clean()
        patient = cleaned.get("patient")
        if patient is not None:
            try:
                services.require_health_data_consent(patient)
            except ValidationError as error:
                self.add_error("patient", error)
        upload = cleaned.get("file")
        if upload is not None:
            try:
                files.read_upload(upload)
            except ValidationError as error:
                for message in error.error_dict["file"]:
                    self.add_error("file", message)
        return cleaned

    def _post_clean(self):
        # The document row is built by the service from the checked file.
        pass


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    date_hierarchy = "document_date"
    list_display = [
        "patient_reference",
        "kind",
        "title",
        "document_date",
        "size",
        "created_at",
    ]
    list_filter = ["kind", "origin"]
    search_fields = ["=patient__reference"]
    list_select_related = ["patient"]
    autocomplete_fields = ["patient"]
    formfield_overrides = ENCRYPTED_ONE_LINE
    readonly_fields = [
        "patient",
        "kind",
        "title",
        "document_date",
        "source",
        "origin",
        "uploaded_by",
        "original_name",
        "content_type",
        "size",
        "created_at",
        "download",
    ]

    def get_queryset(self, request):
        documents = Document.objects.visible_to(request.user)
        if request.user.is_superuser:
            return documents
        # Titles are medical data: advisers list the files they may open now.
        return documents.filter(
            patient__in=open_medical_files(request.user).values("pk")
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DocumentAdminForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["patient", "file", "kind", "title", "document_date", "source"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request)

    @admin.display(description=_("patient"), ordering="patient__reference")
    def patient_reference(self, obj: Document) -> str:
        return obj.patient.reference

    @admin.display(description=_("file"))
    def download(self, obj: Document) -> str:
        return format_html(
            '<a href="{}">{}</a>', obj.get_absolute_url(), gettext("Download")
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        document = (
            Document.objects.visible_to(request.user).filter(pk=object_id).first()
        )
        if document is not None:
            access = document_access(request.user, document)
            if access is MedicalAccess.BREAK_GLASS:
                return HttpResponseRedirect(
                    reverse(
                        "admin:patients_patient_break_glass", args=[document.patient_id]
                    )
                    + "?next="
                    + request.path
                )
        response = super().change_view(request, object_id, form_url, extra_context)
        if (
            document is not None
            and request.method == "GET"
            and response.status_code == 200
        ):
            audit(
                by=request.user,
                action=AccessLog.Action.READ,
                patient=document.patient,
                what=AuditObject.DOCUMENT,
                object_id=document.pk,
                request=request,
            )
        return response

    def save_model(self, request, obj, form, change):
        document = services.upload_document(
            patient=form.cleaned_data["patient"],
            by=request.user,
            upload=form.cleaned_data["file"],
            kind=form.cleaned_data["kind"],
            title=form.cleaned_data.get("title", ""),
            document_date=form.cleaned_data.get("document_date"),
            source=form.cleaned_data.get("source", ""),
            channel=Channel.ADMIN,
            request=request,
        )
        _adopt(obj, document)

    def delete_model(self, request, obj):
        services.delete_document(document=obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for document in queryset:
                services.delete_document(
                    document=document, by=request.user, request=request
                )


# --- Consents -----------------------------------------------------------------------
class HealthDataConsentForm(forms.ModelForm):
    class Meta:
        model = HealthDataConsent
        fields = ["patient", "channel"]

    def _post_clean(self):
        pass


@admin.register(HealthDataConsent)
class HealthDataConsentAdmin(admin.ModelAdmin):
    form = HealthDataConsentForm
    date_hierarchy = "given_at"
    list_display = ["patient", "given_at", "notice_version", "channel", "withdrawn_at"]
    list_filter = [
        "channel",
        "notice_version",
        ("withdrawn_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=patient__reference"]
    list_select_related = ["patient"]
    autocomplete_fields = ["patient"]
    actions = ["record_withdrawal"]

    def get_queryset(self, request):
        return HealthDataConsent.objects.visible_to(request.user)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["patient", "channel"]
        return [
            "patient",
            "given_at",
            "notice_version",
            "channel",
            "given_by",
            "recorded_by",
            "withdrawn_at",
            "withdrawn_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        consent = services.give_health_data_consent(
            patient=form.cleaned_data["patient"],
            by=request.user,
            channel=form.cleaned_data["channel"],
            request=request,
        )
        _adopt(obj, consent)

    @admin.action(description=_("Record the withdrawal of consent"))
    def record_withdrawal(self, request, queryset):
        if not request.user.has_perm("patients.add_healthdataconsent"):
            raise PermissionDenied
        for consent in queryset.select_related("patient"):
            services.withdraw_health_data_consent(
                patient=consent.patient, by=request.user, request=request
            )
        self.message_user(request, gettext("Withdrawal recorded."))


@admin.register(SharingConsent)
class SharingConsentAdmin(admin.ModelAdmin):
    date_hierarchy = "granted_at"
    list_display = [
        "patient",
        "recipient",
        "document",
        "granted_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["=patient__reference", "recipient__email"]
    list_select_related = ["patient", "recipient"]
    readonly_fields = [
        "patient",
        "recipient",
        "document",
        "granted_at",
        "granted_by",
        "channel",
        "expires_at",
        "revoked_at",
        "revoked_by",
    ]
    fields = readonly_fields
    actions = ["revoke"]

    def get_queryset(self, request):
        return SharingConsent.objects.visible_to(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Revoke at the patient's request"))
    def revoke(self, request, queryset):
        for consent in queryset:
            services.revoke_sharing(consent=consent, by=request.user, request=request)
        self.message_user(request, gettext("Sharing revoked."))


# --- Erasure requests ---------------------------------------------------------------
@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    change_form_template = "patients/admin/erasure_change_form.html"
    date_hierarchy = "created_at"
    list_display = ["patient", "state", "created_at", "handled_by", "handled_at"]
    list_filter = ["state"]
    search_fields = ["=patient__reference"]
    list_select_related = ["patient", "handled_by"]
    fields = [
        "patient",
        "requested_by",
        "created_at",
        "message",
        "state",
        "response",
        "handled_by",
        "handled_at",
        "outcome_text",
    ]
    actions = ["carry_out"]

    def get_queryset(self, request):
        return ErasureRequest.objects.visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        readonly = [f for f in self.fields if f != "response"]
        if obj is not None and obj.state != ErasureRequest.State.REQUESTED:
            readonly.append("response")
        return readonly

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("what was erased and kept"))
    def outcome_text(self, obj: ErasureRequest) -> str:
        if not obj.outcome:
            return "—"
        outcome = services.gdpr.describe_outcome(obj.outcome)
        erased = format_html_join(
            "", "<li>{}</li>", ((label,) for label in outcome["erased"])
        )
        kept = format_html_join(
            "", "<li>{}: {}</li>", ((label, why) for label, why in outcome["kept"])
        )
        return format_html(
            "<p>{}</p><ul>{}</ul><p>{}</p><ul>{}</ul>",
            gettext("Erased:"),
            erased,
            gettext("Kept:"),
            kept,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        erasure = self.get_object(request, object_id)
        if (
            erasure is not None
            and request.method == "GET"
            and response.status_code == 200
        ):
            audit(
                by=request.user,
                action=AccessLog.Action.READ,
                patient=erasure.patient,
                what=AuditObject.ERASURE,
                object_id=erasure.pk,
                request=request,
            )
        return response

    def response_change(self, request, obj):
        if "_carry_out" in request.POST or "_reject" in request.POST:
            try:
                if "_carry_out" in request.POST:
                    services.carry_out_erasure(
                        erasure=obj, by=request.user, request=request
                    )
                    self.message_user(request, gettext("The file was pseudonymised."))
                else:
                    services.reject_erasure(
                        erasure=obj,
                        by=request.user,
                        response=obj.response,
                        request=request,
                    )
                    self.message_user(request, gettext("The request was refused."))
            except ValidationError as error:
                self.message_user(request, _error_text(error), messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description=_("Carry out the selected erasure requests"))
    def carry_out(self, request, queryset):
        if not request.user.has_perm("patients.change_erasurerequest"):
            raise PermissionDenied
        done = 0
        for erasure in queryset:
            try:
                services.carry_out_erasure(
                    erasure=erasure, by=request.user, request=request
                )
            except ValidationError as error:
                self.message_user(request, _error_text(error), messages.ERROR)
            else:
                done += 1
        self.message_user(
            request, gettext("%(count)d files pseudonymised.") % {"count": done}
        )


# The back-office of care requests lives in its own module.
from . import care_admin  # noqa: E402, F401
