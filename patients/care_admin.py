"""The back-office of care requests: the file of each request with its timeline,
the steps the user may take as buttons, the team's notes, messages, calls and
tasks, the emergency protocol, a workload view per concierge, care plans.

Every write goes through patients.services (care_requests, care_team). The need in
the patient's words and what came with it are medical: only medical advisers
(permission `read_care_request_need`) see them, and each view is in the access log.
"""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from conciergerie.accounts.models import User
from conciergerie.audit.models import AccessLog

from .access import AuditObject, audit
from .models import (
    CarePlan,
    CarePlanStep,
    CareRequest,
    CareRequestEvent,
    CareRequestMessage,
    CareTask,
    EmergencyChecklistItem,
    Interaction,
    InternalNote,
    SlaBreach,
    SlaClock,
    Urgency,
    sla_overdue_condition,
    staff_roles_of,
)
from .services import care_requests, care_team, has_health_data_consent
from .services.care_requests import RoleNotAllowed


def may_read_need(user) -> bool:
    """The need, the answers and the documents of a request are for medical eyes."""
    return bool(
        user.is_superuser
        or (user.is_back_office and user.has_perm("patients.read_care_request_need"))
    )


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(getattr(error, "message", "") or error)


def _specialty_choices(blank: str) -> list[tuple[str, str]]:
    from specialists.models import Specialty

    return [("", blank)] + [
        (specialty.code, specialty.label)
        for specialty in Specialty.objects.filter(is_active=True)
    ]


def _staff_queryset():
    return User.objects.filter(pk__in=[user.pk for user in care_team.staff_members()])


def _choices_of(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _model_choices_of(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


# --- Filters -----------------------------------------------------------------------


class AssigneeFilter(admin.SimpleListFilter):
    title = _("concierge in charge")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        return [
            ("me", _("Me")),
            ("none", _("Nobody")),
            *[
                (str(user.pk), user.get_full_name() or user.email)
                for user in care_team.staff_members()
            ],
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assigned_to=request.user)
        if value == "none":
            return queryset.filter(assigned_to__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assigned_to_id=int(value))
        return queryset


class SpecialtyFilter(admin.SimpleListFilter):
    title = _("specialty")
    parameter_name = "specialty"

    def lookups(self, request, model_admin):
        return _specialty_choices(str(_("Not confirmed")))[1:] + [
            ("-", _("Not confirmed"))
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "-":
            return queryset.filter(specialty="")
        if value:
            return queryset.filter(specialty=value)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadlines")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [
            ("any", _("Any deadline missed")),
            *[
                (clock, _("%(clock)s overdue") % {"clock": label})
                for clock, label in SlaClock.choices
            ],
            ("ok", _("On time")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        now = timezone.now()
        if value == "any":
            return queryset.overdue(now=now)
        if value in SlaClock.values:
            return queryset.filter(sla_overdue_condition(value, now=now))
        if value == "ok":
            return queryset.exclude(pk__in=CareRequest.objects.overdue(now=now))
        return queryset


# --- Inlines ------------------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AddOnlyInline(admin.TabularInline):
    """Existing rows are history; new ones go through a service."""

    extra = 1
    can_delete = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request, obj=None) -> bool:
        return obj is not None and bool(staff_roles_of(request.user))


class EventInline(ReadOnlyInline):
    model = CareRequestEvent
    verbose_name_plural = _("timeline")
    fields = ["created_at", "what", "actor_name", "comment", "public"]
    readonly_fields = ["created_at", "what", "actor_name", "comment", "public"]
    ordering = ["created_at", "pk"]

    @admin.display(description=_("what"))
    def what(self, obj: CareRequestEvent) -> str:
        if obj.kind == CareRequestEvent.Kind.TRANSITION:
            return format_html(
                "{} → <strong>{}</strong>",
                obj.get_from_state_display(),
                obj.get_to_state_display(),
            )
        if obj.kind == CareRequestEvent.Kind.CREATED:
            return format_html("<strong>{}</strong>", obj.get_kind_display())
        return obj.get_kind_display()

    @admin.display(description=_("by"))
    def actor_name(self, obj: CareRequestEvent) -> str:
        return obj.actor_name


class ChecklistForm(forms.ModelForm):
    done = forms.BooleanField(label=_("done"), required=False)

    class Meta:
        model = EmergencyChecklistItem
        fields = ["note"]
        widgets = {"note": forms.TextInput(attrs={"size": 40})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.is_done:
            self.fields["done"].initial = True
            self.fields["done"].disabled = True
            self.fields["note"].disabled = True


class EmergencyChecklistInline(admin.TabularInline):
    model = EmergencyChecklistItem
    form = ChecklistForm
    extra = 0
    can_delete = False
    verbose_name_plural = _("emergency protocol")
    fields = ["step", "required_step", "done", "note", "checked_by", "checked_at"]
    readonly_fields = ["step", "required_step", "checked_by", "checked_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("step"))
    def step(self, obj: EmergencyChecklistItem) -> str:
        return str(obj)

    @admin.display(description=_("required"), boolean=True)
    def required_step(self, obj: EmergencyChecklistItem) -> bool:
        return obj.required


class CareTaskInline(admin.TabularInline):
    model = CareTask
    extra = 0
    can_delete = False
    fields = [
        "kind",
        "title",
        "owner",
        "due_at",
        "status",
        "shared_with_patient",
        "done_at",
    ]
    readonly_fields = ["done_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["queryset"] = _staff_queryset()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields]


class InteractionInline(AddOnlyInline):
    model = Interaction
    extra = 0
    verbose_name_plural = _("interaction log (calls, emails, secretariats)")
    fields = [
        "occurred_at",
        "channel",
        "direction",
        "party",
        "counterpart",
        "duration_minutes",
        "summary",
        "recorded_by",
    ]
    readonly_fields = ["recorded_by"]
    formfield_overrides = {
        Interaction._meta.get_field("summary").__class__: {
            "widget": forms.Textarea(attrs={"rows": 2, "cols": 40})
        }
    }


class InternalNoteInline(AddOnlyInline):
    model = InternalNote
    extra = 0
    fields = ["created_at", "author", "body"]
    readonly_fields = ["created_at", "author"]
    formfield_overrides = {
        InternalNote._meta.get_field("body").__class__: {
            "widget": forms.Textarea(attrs={"rows": 2, "cols": 60})
        }
    }


class MessageInline(AddOnlyInline):
    model = CareRequestMessage
    extra = 0
    verbose_name_plural = _("messages with the patient (they are emailed a notice)")
    fields = ["created_at", "side", "author", "body", "read_at"]
    readonly_fields = ["created_at", "side", "author", "read_at"]
    formfield_overrides = {
        CareRequestMessage._meta.get_field("body").__class__: {
            "widget": forms.Textarea(attrs={"rows": 3, "cols": 60})
        }
    }


# --- The request ----------------------------------------------------------------------

PREFERENCES = [
    ("place_postal_code", "place_commune", "radius_km"),
    ("available_from", "available_until", "availability_notes"),
    ("mode", "practitioner_gender", "languages"),
    ("max_budget", "sector", "wheelchair_access"),
]


class CareRequestAddForm(forms.ModelForm):
    """A concierge takes a request on the phone (or from an email)."""

    channel = forms.ChoiceField(
        label=_("received through"),
        choices=[
            (CareRequest.IntakeChannel.PHONE, CareRequest.IntakeChannel.PHONE.label),
            (CareRequest.IntakeChannel.EMAIL, CareRequest.IntakeChannel.EMAIL.label),
        ],
    )
    specialty = forms.ChoiceField(label=_("specialty"), required=False, choices=[])
    languages = forms.MultipleChoiceField(
        label=_("languages spoken"), required=False, choices=[]
    )

    class Meta:
        model = CareRequest
        fields = [
            "patient",
            "kind",
            "channel",
            "need",
            "specialty",
            *[name for row in PREFERENCES for name in row],
        ]
        widgets = {
            "need": forms.Textarea(attrs={"rows": 5}),
            "available_from": forms.DateInput(attrs={"type": "date"}),
            "available_until": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from specialists.models import LANGUAGE_CHOICES

        _choices_of(self, "specialty").choices = _specialty_choices(
            gettext("Let triage suggest it")
        )
        _choices_of(self, "languages").choices = LANGUAGE_CHOICES
        self.fields["place_postal_code"].help_text = _(
            "Empty: the patient's postal code."
        )

    def clean(self):
        data = super().clean() or {}
        patient = data.get("patient")
        if patient is not None and not has_health_data_consent(patient):
            raise ValidationError(
                _(
                    "This patient has not consented to the processing of their "
                    "health data: record the consent first (Patients → the file → "
                    "action “Record consent given by phone”)."
                ),
                code="consent_required",
            )
        return data


class CareRequestChangeForm(forms.ModelForm):
    specialty = forms.ChoiceField(label=_("specialty"), required=False, choices=[])
    languages = forms.MultipleChoiceField(
        label=_("languages spoken"), required=False, choices=[]
    )

    class Meta:
        model = CareRequest
        fields = [
            "assigned_to",
            "urgency",
            "specialty",
            *[name for row in PREFERENCES for name in row],
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from specialists.models import LANGUAGE_CHOICES

        if "specialty" in self.fields:
            _choices_of(self, "specialty").choices = _specialty_choices("—")
        if "languages" in self.fields:
            _choices_of(self, "languages").choices = LANGUAGE_CHOICES
        if "assigned_to" in self.fields:
            _model_choices_of(self, "assigned_to").queryset = _staff_queryset()
        if "urgency" in self.fields:
            # An emergency is raised with its button, which opens the protocol.
            _choices_of(self, "urgency").choices = [
                (value, label)
                for value, label in Urgency.choices
                if value != Urgency.EMERGENCY
            ]


@admin.register(CareRequest)
class CareRequestAdmin(admin.ModelAdmin):
    change_form_template = "patients/admin/care_request_change_form.html"
    change_list_template = "patients/admin/care_request_change_list.html"
    view_on_site = False
    date_hierarchy = "created_at"
    list_display = [
        "reference",
        "patient_name",
        "kind",
        "state_badge",
        "urgency_badge",
        "specialty_name",
        "assigned_to",
        "deadlines",
        "created_at",
    ]
    list_filter = [
        "state",
        "urgency",
        AssigneeFilter,
        SpecialtyFilter,
        OverdueFilter,
        "kind",
        "channel",
    ]
    list_select_related = ["patient", "assigned_to"]
    search_fields = ["=reference", "=patient__reference", "patient__last_name"]
    search_help_text = _("Request reference (D-…), patient reference or last name.")
    autocomplete_fields = ["patient"]
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request):
        from specialists.models import Specialty

        english = (get_language() or "fr").split("-")[0] == "en"

        def label_of(field: str) -> Subquery:
            names = Specialty.objects.filter(code=OuterRef(field))
            name = (
                Coalesce(NullIf("name_en", Value("")), "name") if english else F("name")
            )
            return Subquery(names.values_list(name, flat=True)[:1])

        # The specialty column reads the labels with the rows, not a query per row
        # (the same label as Specialty.label, in the reader's language).
        return (
            CareRequest.objects.visible_to(request.user)
            .with_sla()
            .select_related("patient", "assigned_to", "requested_by")
            .annotate(
                specialty_label_read=label_of("specialty"),
                suggested_label_read=label_of("suggested_specialty"),
            )
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = (
            CareRequestChangeForm if obj is not None else CareRequestAddForm
        )
        kwargs["fields"] = None
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        preferences = (_("Preferences"), {"fields": PREFERENCES})
        if obj is None:
            return [
                (
                    None,
                    {"fields": ["patient", ("kind", "channel"), "need", "specialty"]},
                ),
                preferences,
            ]
        medical = may_read_need(request.user)
        request_fields = [
            ("reference", "state"),
            ("patient_link", "requested_by", "channel"),
            ("kind", "partner_reference"),
            "assigned_to",
        ]
        triage = [("urgency", "specialty"), "suggested_specialty_name"]
        if medical:
            triage += [
                "need",
                "answers_text",
                "red_flags_text",
                "triage_reasons",
                "documents_links",
            ]
        else:
            triage += ["medical_hidden"]
        return [
            (_("Request"), {"fields": request_fields}),
            (_("Triage"), {"fields": triage}),
            preferences,
            (
                _("Deadlines and milestones"),
                {
                    "fields": [
                        ("first_response_due_at", "first_response_at"),
                        ("qualification_due_at", "qualified_at"),
                        ("appointment_due_at", "scheduled_at", "appointment_reference"),
                        ("emergency_at", "care_started_at", "follow_up_at"),
                        ("closed_at", "cancelled_at"),
                    ]
                },
            ),
            (
                _("Qualification and closure"),
                {
                    "fields": [
                        "eligibility_text",
                        "cancellation_reason",
                        "closure_override_reason",
                    ]
                },
            ),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = [
            "reference",
            "state",
            "patient_link",
            "requested_by",
            "channel",
            "kind",
            "partner_reference",
            "suggested_specialty_name",
            "need",
            "answers_text",
            "red_flags_text",
            "triage_reasons",
            "documents_links",
            "medical_hidden",
            "eligibility_text",
            "cancellation_reason",
            "closure_override_reason",
            "first_response_due_at",
            "first_response_at",
            "qualification_due_at",
            "qualified_at",
            "appointment_due_at",
            "scheduled_at",
            "appointment_reference",
            "emergency_at",
            "care_started_at",
            "follow_up_at",
            "closed_at",
            "cancelled_at",
        ]
        roles = staff_roles_of(request.user)
        if (
            not roles & care_requests.TRIAGE_ROLES
            or obj.state == CareRequest.State.EMERGENCY
        ):
            readonly += ["urgency", "specialty"]
        if not obj.is_open or not roles:
            readonly += [
                "assigned_to",
                *[n for row in PREFERENCES for n in row],
                "urgency",
                "specialty",
            ]
        return readonly

    def get_inlines(self, request, obj):
        if obj is None:
            return []
        inlines: list[type[admin.options.InlineModelAdmin]] = [EventInline]
        if obj.emergency_checklist.exists():
            inlines.append(EmergencyChecklistInline)
        return [
            *inlines,
            MessageInline,
            InteractionInline,
            InternalNoteInline,
            CareTaskInline,
        ]

    # --- Columns ---------------------------------------------------------------------
    @admin.display(description=_("patient"), ordering="patient__last_name")
    def patient_name(self, obj: CareRequest) -> str:
        return f"{obj.patient.full_name} ({obj.patient.reference})"

    @admin.display(description=_("patient"))
    def patient_link(self, obj: CareRequest) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:patients_patient_change", args=[obj.patient_id]),
            self.patient_name(obj),
        )

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj: CareRequest) -> str:
        return format_html(
            '<span class="care-state care-state-{}">{}</span>',
            obj.state,
            obj.get_state_display(),
        )

    @admin.display(description=_("urgency"), ordering="urgency")
    def urgency_badge(self, obj: CareRequest) -> str:
        return format_html(
            '<span class="care-urgency care-urgency-{}">{}</span>',
            obj.urgency,
            obj.get_urgency_display(),
        )

    @admin.display(description=_("specialty"), ordering="specialty")
    def specialty_name(self, obj: CareRequest) -> str:
        if obj.specialty:
            return getattr(obj, "specialty_label_read", None) or (
                care_requests.specialty_label(obj.specialty)
            )
        if obj.suggested_specialty:
            label = getattr(obj, "suggested_label_read", None) or (
                care_requests.specialty_label(obj.suggested_specialty)
            )
            return gettext("%(name)s (suggested)") % {"name": label}
        return "—"

    @admin.display(description=_("suggested specialty"))
    def suggested_specialty_name(self, obj: CareRequest) -> str:
        return care_requests.specialty_label(obj.suggested_specialty) or "—"

    @admin.display(description=_("deadlines"))
    def deadlines(self, obj: CareRequest) -> str:
        late = [
            str(label)
            for clock, label in SlaClock.choices
            if getattr(obj, f"{clock}_overdue", False)
        ]
        if late:
            return format_html(
                '<strong class="care-late">{}</strong>',
                gettext("Overdue: %(clocks)s") % {"clocks": ", ".join(late)},
            )
        return gettext("on time") if obj.is_open else "—"

    @admin.display(description=_("answers to the intake questions"))
    def answers_text(self, obj: CareRequest) -> str:
        if not obj.answers:
            return "—"
        return format_html(
            "<dl>{}</dl>",
            format_html_join(
                "",
                "<dt>{}</dt><dd>{}</dd>",
                (
                    (item.get("question", code), _answer_text(item.get("answer")))
                    if isinstance(item, dict)
                    else (code, _answer_text(item))
                    for code, item in obj.answers.items()
                ),
            ),
        )

    @admin.display(description=_("red flags"))
    def red_flags_text(self, obj: CareRequest) -> str:
        if not obj.red_flags:
            return gettext("None found")
        return format_html(
            '<ul class="care-red-flags">{}</ul>',
            format_html_join(
                "",
                "<li><strong>{}</strong> — « {} »</li>",
                (
                    (care_requests.red_flag_text(flag, "label"), flag.get("words"))
                    for flag in obj.red_flags
                ),
            ),
        )

    @admin.display(description=_("why (triage)"))
    def triage_reasons(self, obj: CareRequest) -> str:
        return format_html(
            "{}<br>{}",
            gettext("Urgency: %(reasons)s")
            % {"reasons": ", ".join(obj.urgency_reasons or []) or "—"},
            gettext("Specialty: %(reasons)s")
            % {"reasons": ", ".join(obj.specialty_reasons or []) or "—"},
        )

    @admin.display(description=_("documents sent with the request"))
    def documents_links(self, obj: CareRequest) -> str:
        documents = list(obj.documents.all())
        if not documents:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((document.get_absolute_url(), str(document)) for document in documents),
        )

    @admin.display(description=_("the need"))
    def medical_hidden(self, obj: CareRequest) -> str:
        return gettext(
            "The patient's words and documents are for medical advisers: ask one."
        )

    @admin.display(description=_("eligibility checks"))
    def eligibility_text(self, obj: CareRequest) -> str:
        if not obj.eligibility:
            return gettext("Checked at qualification.")
        return format_html_join(
            " · ",
            "{} {}",
            (
                (
                    "✔" if passed else "✘",
                    gettext(care_requests.ELIGIBILITY_LABELS[code]),
                )
                for code, passed in obj.eligibility.items()
                if code in care_requests.ELIGIBILITY_LABELS
            ),
        )

    # --- Views -----------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "workload/",
                self.admin_site.admin_view(self.workload_view),
                name="patients_carerequest_workload",
            ),
            path(
                "<path:object_id>/step/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="patients_carerequest_transition",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if obj is not None:
            extra_context.update(self._context(request, obj))
        response = super().change_view(request, object_id, form_url, extra_context)
        if obj is not None and request.method == "GET" and response.status_code == 200:
            care_team.mark_messages_read(care_request=obj, by=request.user)
            audit(
                by=request.user,
                action=AccessLog.Action.READ,
                patient=obj.patient,
                what=AuditObject.CARE_REQUEST,
                object_id=obj.reference,
                request=request,
                reason=""
                if may_read_need(request.user)
                else gettext("Without the medical content"),
            )
        return response

    def _context(self, request, obj: CareRequest) -> dict:
        names = care_requests.available_transitions(obj, request.user)
        steps = [
            {
                "name": name,
                "label": care_requests.transition_label(name),
                "url": reverse(
                    "admin:patients_carerequest_transition", args=[obj.pk, name]
                ),
                "danger": name in ("escalate", "cancel"),
                "blocked": care_requests.blocked_reason(obj, name),
            }
            for name in names
        ]
        context: dict[str, Any] = {
            "steps": steps,
            "public_status": obj.public_status,
            "workload_url": reverse("admin:patients_carerequest_workload"),
        }
        if obj.state in (CareRequest.State.QUALIFIED, CareRequest.State.MATCHING) and (
            obj.needs_practitioner and obj.specialty
        ):
            context["match_url"] = self._match_url(obj)
        shortlist = care_requests._published_shortlist(obj)
        if shortlist is not None:
            context["shortlist_url"] = reverse(
                "admin:specialists_shortlist_change", args=[shortlist.pk]
            )
        if obj.state == CareRequest.State.FOLLOW_UP:
            context["open_items"] = care_requests.open_items(obj)
        return context

    def _match_url(self, obj: CareRequest) -> str:
        try:
            base = reverse("admin:specialists_practitioner_match")
        except Exception:  # the directory is not installed
            return ""
        return f"{base}?{urlencode(care_requests.match_query(obj), doseq=True)}"

    def transition_view(self, request, object_id, name):
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_permission(request, obj):
            raise PermissionDenied
        if name not in care_requests.TRANSITIONS:
            raise PermissionDenied
        change_url = reverse("admin:patients_carerequest_change", args=[obj.pk])
        form = TransitionForm(name, obj, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                care_requests.perform_transition(
                    care_request=obj, name=name, by=request.user, data=form.cleaned_data
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for field, errors in error.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, error)
            except RoleNotAllowed as error:
                self.message_user(request, _error_text(error), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                obj.refresh_from_db()
                self.message_user(
                    request,
                    gettext("%(reference)s is now “%(state)s”.")
                    % {"reference": obj.reference, "state": obj.get_state_display()},
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "form": form,
            "step_label": care_requests.transition_label(name),
            "open_items": care_requests.open_items(obj) if name == "close" else [],
            "title": gettext("%(step)s · %(reference)s")
            % {
                "step": care_requests.transition_label(name),
                "reference": obj.reference,
            },
            "change_url": change_url,
        }
        return TemplateResponse(
            request, "patients/admin/care_request_transition.html", context
        )

    def workload_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:patients_carerequest_changelist")
        lines = [
            {
                "line": line,
                "requests_url": f"{changelist}?"
                + urlencode({"assignee": line.user.pk if line.user else "none"}),
                "overdue_url": f"{changelist}?"
                + urlencode(
                    {
                        "assignee": line.user.pk if line.user else "none",
                        "overdue": "any",
                    }
                ),
                "tasks_url": reverse("admin:patients_caretask_changelist")
                + "?"
                + urlencode(
                    {"owner__id__exact": line.user.pk}
                    if line.user
                    else {"owner__isnull": "True"}
                ),
            }
            for line in care_team.workload()
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Workload per concierge"),
            "lines": lines,
            "states": [
                (state, label)
                for state, label in CareRequest.State.choices
                if state in CareRequest.OPEN_STATES
            ],
        }
        return TemplateResponse(request, "patients/admin/care_workload.html", context)

    # --- Writes ----------------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        if not change:
            try:
                self._submit(request, obj, form)
            except (ValidationError, RoleNotAllowed) as error:
                # The form checked the same rules; only a concurrent change gets here.
                raise PermissionDenied(_error_text(error)) from error
            return
        try:
            self._update(request, obj, form)
        except RoleNotAllowed as error:
            raise PermissionDenied(_error_text(error)) from error
        except ValidationError as error:
            self.message_user(request, _error_text(error), messages.ERROR)

    def _submit(self, request, obj, form) -> None:
        data = form.cleaned_data
        preferences = {
            name: data.get(name)
            for row in PREFERENCES
            for name in row
            if data.get(name) not in (None, "", [])
        }
        if "languages" in data:
            preferences["languages"] = data.get("languages") or []
        created = care_requests.submit_care_request(
            patient=data["patient"],
            by=request.user,
            channel=data["channel"],
            kind=data["kind"],
            need=data["need"],
            specialty=data.get("specialty") or "",
            preferences=preferences,
            request=request,
        )
        obj.__dict__.update(
            {k: v for k, v in created.__dict__.items() if k != "_state"}
        )
        obj._state.adding = False
        obj._state.db = created._state.db

    def _update(self, request, obj, form) -> None:
        changed = set(form.changed_data)
        current = CareRequest.objects.get(pk=obj.pk)
        data = form.cleaned_data
        if "assigned_to" in changed:
            care_team.assign(
                care_request=current, to=data["assigned_to"], by=request.user
            )
        triage = {
            name: data[name] for name in ("urgency", "specialty") if name in changed
        }
        if triage:
            care_requests.update_triage(care_request=current, by=request.user, **triage)
        details = {
            name: data[name] for row in PREFERENCES for name in row if name in changed
        }
        if details:
            care_requests.update_details(
                care_request=current, by=request.user, changes=details
            )

    def save_formset(self, request, form, formset, change):
        care_request = form.instance
        model = formset.model
        try:
            if model is EmergencyChecklistItem:
                for inline in formset.forms:
                    if (
                        inline.instance.pk
                        and inline.cleaned_data.get("done")
                        and (not inline.instance.is_done)
                    ):
                        care_requests.check_emergency_step(
                            item=inline.instance,
                            by=request.user,
                            note=inline.cleaned_data.get("note", ""),
                        )
            elif model is CareTask:
                self._save_tasks(request, care_request, formset)
            else:
                for inline in formset.forms:
                    if not inline.instance._state.adding or not inline.has_changed():
                        continue
                    data = inline.cleaned_data
                    if not data or data.get("DELETE"):
                        continue
                    self._save_new_row(request, care_request, model, data)
        except RoleNotAllowed as error:
            raise PermissionDenied(_error_text(error)) from error
        except ValidationError as error:
            self.message_user(request, _error_text(error), messages.ERROR)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = (
            [],
            [],
            [],
        )

    def _save_new_row(self, request, care_request, model, data) -> None:
        if model is CareRequestMessage:
            care_team.post_message(
                care_request=care_request, by=request.user, body=data["body"]
            )
        elif model is InternalNote:
            care_team.add_internal_note(
                care_request=care_request, by=request.user, body=data["body"]
            )
        elif model is Interaction:
            care_team.log_interaction(
                care_request=care_request,
                by=request.user,
                channel=data["channel"],
                direction=data["direction"],
                party=data["party"],
                summary=data["summary"],
                counterpart=data.get("counterpart", ""),
                occurred_at=data.get("occurred_at"),
                duration_minutes=data.get("duration_minutes"),
            )

    def _save_tasks(self, request, care_request, formset) -> None:
        for inline in formset.forms:
            if not inline.has_changed() or not inline.cleaned_data:
                continue
            data = inline.cleaned_data
            if inline.instance._state.adding:
                care_team.add_care_task(
                    care_request=care_request,
                    by=request.user,
                    kind=data["kind"],
                    title=data["title"],
                    owner=data.get("owner"),
                    due_at=data.get("due_at"),
                    shared_with_patient=data.get("shared_with_patient", False),
                )
                continue
            task = CareTask.objects.get(pk=inline.instance.pk)
            care_team.update_care_task(
                task=task,
                by=request.user,
                status=data.get("status"),
                owner=data.get("owner"),
                due_at=data.get("due_at"),
            )
            if {"title", "kind", "shared_with_patient"} & set(inline.changed_data):
                CareTask.objects.filter(pk=task.pk).update(
                    title=data["title"],
                    kind=data["kind"],
                    shared_with_patient=data.get("shared_with_patient", False),
                    updated_at=timezone.now(),
                )

    def response_add(self, request, obj, post_url_continue=None):
        if obj.state == CareRequest.State.EMERGENCY:
            self.message_user(
                request,
                gettext(
                    "Red flags: %(reference)s is on the emergency path. Tell the "
                    "patient to call 15 (or 112) now and follow the protocol."
                )
                % {"reference": obj.reference},
                messages.WARNING,
            )
        return super().response_add(request, obj, post_url_continue)

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["workload_url"] = reverse("admin:patients_carerequest_workload")
        return super().changelist_view(request, extra_context)


def _answer_text(value) -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


class TransitionForm(forms.Form):
    """The inputs one step asks for (a comment, a reason, a booking…)."""

    comment = forms.CharField(
        label=_("Comment for the team"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    reason = forms.CharField(
        label=_("Reason (the patient sees it)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    specialty = forms.ChoiceField(label=_("Specialty"), required=False, choices=[])
    urgency = forms.ChoiceField(
        label=_("Urgency"),
        choices=[
            (value, label)
            for value, label in Urgency.choices
            if value != Urgency.EMERGENCY
        ],
    )
    appointment_reference = forms.CharField(
        label=_("Appointment booked"),
        max_length=64,
        help_text=_("Who, when and where, or the appointment's reference."),
    )
    override_reason = forms.CharField(
        label=_("Close anyway, because (managers)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
    )

    def __init__(self, name: str, care_request: CareRequest, *args, **kwargs):
        super().__init__(*args, **kwargs)
        inputs = care_requests.TRANSITIONS[name][1]
        for field in list(self.fields):
            if field not in inputs:
                del self.fields[field]
        if "specialty" in self.fields:
            _choices_of(self, "specialty").choices = _specialty_choices("—")
            self.fields["specialty"].initial = (
                care_request.specialty or care_request.suggested_specialty
            )
        if "urgency" in self.fields:
            self.fields["urgency"].initial = (
                care_request.urgency
                if care_request.urgency != Urgency.EMERGENCY
                else Urgency.URGENT
            )


# --- Tasks, care plans, missed deadlines ----------------------------------------------


@admin.register(CareTask)
class CareTaskAdmin(admin.ModelAdmin):
    date_hierarchy = "due_at"
    list_display = [
        "title",
        "request_reference",
        "kind",
        "owner",
        "due_at",
        "status",
        "late",
    ]
    list_filter = [
        "status",
        "kind",
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("owner", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=care_request__reference", "title"]
    list_select_related = ["care_request", "owner"]
    autocomplete_fields = ["care_request"]
    fields = [
        "care_request",
        ("kind", "title"),
        "details",
        ("owner", "due_at"),
        ("status", "shared_with_patient"),
        ("done_at", "done_by", "created_by"),
    ]
    readonly_fields = ["done_at", "done_by", "created_by"]
    actions = ["mark_done"]

    def get_queryset(self, request):
        return CareTask.objects.visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "care_request"]
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["queryset"] = _staff_queryset()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("care request"), ordering="care_request__reference")
    def request_reference(self, obj: CareTask) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:patients_carerequest_change", args=[obj.care_request_id]),
            obj.care_request.reference,
        )

    @admin.display(description=_("late"), boolean=True)
    def late(self, obj: CareTask) -> bool:
        return obj.is_late

    def save_model(self, request, obj, form, change):
        try:
            if not change:
                created = care_team.add_care_task(
                    care_request=obj.care_request,
                    by=request.user,
                    kind=obj.kind,
                    title=obj.title,
                    details=obj.details,
                    owner=obj.owner,
                    due_at=obj.due_at,
                    shared_with_patient=obj.shared_with_patient,
                )
                obj.pk = created.pk
                obj._state.adding = False
                return
            care_team.update_care_task(
                task=obj,
                by=request.user,
                status=obj.status if "status" in form.changed_data else None,
                owner=obj.owner,
                due_at=obj.due_at,
            )
            CareTask.objects.filter(pk=obj.pk).update(
                kind=obj.kind,
                title=obj.title,
                details=obj.details,
                shared_with_patient=obj.shared_with_patient,
                updated_at=timezone.now(),
            )
        except RoleNotAllowed as error:
            raise PermissionDenied(_error_text(error)) from error

    @admin.action(description=_("Mark the selected tasks done"))
    def mark_done(self, request, queryset):
        done = 0
        for task in queryset:
            try:
                care_team.update_care_task(
                    task=task, by=request.user, status=CareTask.Status.DONE
                )
            except ValidationError as error:
                self.message_user(
                    request, f"{task}: {_error_text(error)}", messages.ERROR
                )
            else:
                done += 1
        self.message_user(request, gettext("%(count)d tasks done.") % {"count": done})


class CarePlanStepInline(admin.TabularInline):
    model = CarePlanStep
    extra = 1
    fields = ["position", "title", "planned_for", "status", "care_request", "details"]
    autocomplete_fields = ["care_request"]
    formfield_overrides = {
        CarePlanStep._meta.get_field("details").__class__: {
            "widget": forms.Textarea(attrs={"rows": 2, "cols": 40})
        }
    }


@admin.register(CarePlan)
class CarePlanAdmin(admin.ModelAdmin):
    list_display = ["patient", "shared_with_patient", "step_count", "updated_at"]
    list_filter = ["shared_with_patient"]
    search_fields = ["=patient__reference", "patient__last_name"]
    autocomplete_fields = ["patient"]
    fields = ["patient", "goals", "shared_with_patient", "shared_at", "updated_by"]
    readonly_fields = ["shared_at", "updated_by"]
    inlines = [CarePlanStepInline]

    def get_queryset(self, request):
        return (
            CarePlan.objects.visible_to(request.user)
            .select_related("patient")
            .annotate(steps_total=Count("steps"))
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "patient"]
        return self.readonly_fields

    @admin.display(description=_("steps"), ordering="steps_total")
    def step_count(self, obj: CarePlan) -> int:
        return getattr(obj, "steps_total", 0)

    def save_model(self, request, obj, form, change):
        try:
            saved = care_team.save_care_plan(
                patient=obj.patient,
                by=request.user,
                goals=obj.goals,
                shared_with_patient=obj.shared_with_patient,
            )
        except RoleNotAllowed as error:
            raise PermissionDenied(_error_text(error)) from error
        obj.pk = saved.pk
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        plan = CarePlan.objects.get(patient=form.instance.patient)
        for inline in formset.forms:
            if not inline.has_changed() or not inline.cleaned_data:
                continue
            data = inline.cleaned_data
            if data.get("DELETE") and inline.instance.pk:
                inline.instance.delete()
            elif inline.instance._state.adding:
                care_team.add_care_plan_step(
                    plan=plan,
                    by=request.user,
                    title=data["title"],
                    details=data.get("details", ""),
                    planned_for=data.get("planned_for"),
                    care_request=data.get("care_request"),
                )
            else:
                inline.save()
        formset.new_objects, formset.changed_objects, formset.deleted_objects = (
            [],
            [],
            [],
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET" and response.status_code == 200:
            audit(
                by=request.user,
                action=AccessLog.Action.READ,
                patient=obj.patient,
                what=AuditObject.CARE_PLAN,
                request=request,
            )
        return response


@admin.register(SlaBreach)
class SlaBreachAdmin(admin.ModelAdmin):
    date_hierarchy = "detected_at"
    list_display = ["care_request", "clock", "due_at", "detected_at", "alerted_to"]
    list_filter = ["clock", ("detected_at", admin.DateFieldListFilter)]
    search_fields = ["=care_request__reference"]
    list_select_related = ["care_request"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
