"""Back-office of satisfaction surveys: the answers, moderation into practitioner
reviews, and the low scores that call for a manager's call back.

Rows are read-only: answers come from patients, moderation goes through
appointments.surveys. The comment may hold health data: only medical staff see
it, and each reading is written to the access log.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from conciergerie.audit.models import AccessLog
from conciergerie.audit.services import record_access

from . import surveys
from .surveys_models import SatisfactionSurvey


class AnsweredFilter(admin.SimpleListFilter):
    title = _("answer")
    parameter_name = "answered"

    def lookups(self, request, model_admin):
        return [
            ("yes", _("Answered")),
            ("no", _("Not answered")),
            ("low", _("Low score")),
            ("low_open", _("Low score, no follow-up")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "yes":
            return queryset.filter(answered_at__isnull=False)
        if value == "no":
            return queryset.filter(answered_at__isnull=True)
        if value == "low":
            return queryset.filter(low_score=True)
        if value == "low_open":
            return queryset.filter(low_score=True, follow_up_task__isnull=True)
        return queryset


@admin.register(SatisfactionSurvey)
class SatisfactionSurveyAdmin(admin.ModelAdmin):
    list_display = (
        "appointment_link",
        "practitioner",
        "due_at",
        "answered_at",
        "satisfaction",
        "recommend",
        "practitioner_rating",
        "low_score",
        "moderation",
    )
    list_filter = (
        AnsweredFilter,
        "moderation",
        "satisfaction",
        "answered_via",
        "appointment__consultation_kind",
    )
    list_select_related = ("appointment__practitioner", "appointment__patient")
    search_fields = (
        "=public_id",
        "=appointment__public_id",
        "appointment__patient__reference",
        "appointment__practitioner__last_name",
    )
    date_hierarchy = "due_at"
    ordering = ("-due_at",)
    actions = ["publish_reviews", "reject_reviews"]
    readonly_fields = (
        "public_id",
        "appointment",
        "due_at",
        "sent_at",
        "answered_at",
        "answered_via",
        "satisfaction",
        "recommend",
        "practitioner_rating",
        "may_publish_comment",
        "low_score",
        "follow_up_task",
        "moderation",
        "moderated_by",
        "moderated_at",
        "review",
    )

    def get_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if surveys.may_read_comment(request.user):
            fields.insert(fields.index("may_publish_comment"), "comment_text")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_moderate_permission(self, request) -> bool:
        return request.user.has_perm("appointments.moderate_survey")

    @admin.display(description=_("appointment"), ordering="appointment__starts_at")
    def appointment_link(self, obj: SatisfactionSurvey) -> str:
        return format_html(
            "{} · {}",
            obj.appointment.patient.reference,
            obj.appointment.starts_at.strftime("%d/%m/%Y"),
        )

    @admin.display(description=_("practitioner"))
    def practitioner(self, obj: SatisfactionSurvey) -> str:
        return obj.appointment.practitioner.display_name

    @admin.display(description=_("comment"))
    def comment_text(self, obj: SatisfactionSurvey) -> str:
        return obj.comment or "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        survey = self.get_object(request, object_id)
        if (
            survey is not None
            and survey.comment
            and surveys.may_read_comment(request.user)
        ):
            # Reading the comment is reading health data: the access log keeps it.
            record_access(
                actor=request.user,
                action=AccessLog.Action.READ,
                patient_ref=survey.appointment.patient.reference,
                object_type="satisfaction_survey",
                object_id=survey.public_id,
                request=request,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(
        description=_("Publish the practitioner's rating as a review"),
        permissions=["moderate"],
    )
    def publish_reviews(self, request, queryset):
        published = 0
        for survey in queryset:
            try:
                surveys.publish_survey_review(survey=survey, by=request.user)
            except ValidationError as error:
                self.message_user(
                    request, f"{survey}: {' '.join(error.messages)}", messages.ERROR
                )
            else:
                published += 1
        if published:
            self.message_user(
                request,
                gettext("%(count)d review(s) published.") % {"count": published},
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Do not publish (not about care, offensive, health data)"),
        permissions=["moderate"],
    )
    def reject_reviews(self, request, queryset):
        reason = gettext("Not published after moderation of the survey.")
        for survey in queryset:
            surveys.reject_survey_review(survey=survey, by=request.user, reason=reason)
        self.message_user(
            request,
            gettext("%(count)d answer(s) kept out of the directory.")
            % {"count": queryset.count()},
            messages.SUCCESS,
        )
