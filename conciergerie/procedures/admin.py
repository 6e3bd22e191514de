"""Back-office of the procedures library.

Managers write (each save of a changed text publishes a new version); every
member of staff reads the version in force and says so with one button. Managers
see who has not read the current version of each procedure.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Acknowledgement, Procedure, ProcedureVersion


class ProcedureForm(forms.ModelForm):
    body = forms.CharField(label=_("text"), widget=forms.Textarea(attrs={"rows": 20}))
    change_note = forms.CharField(
        label=_("what changed"),
        max_length=300,
        required=False,
        help_text=_("Shown to the staff asked to read the new version."),
    )

    class Meta:
        model = Procedure
        fields = ["kind", "title", "slug", "archived"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        version = self.instance.current_version if self.instance.pk else None
        if version is not None and "body" in self.fields:
            self.fields["body"].initial = version.body
        if "slug" in self.fields:
            self.fields["slug"].required = False


class VersionInline(admin.TabularInline):
    model = ProcedureVersion
    extra = 0
    can_delete = False
    fields = ("number", "title", "change_note", "published_at", "published_by")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class NotReadByMeFilter(admin.SimpleListFilter):
    title = _("reading")
    parameter_name = "reading"

    def lookups(self, request, model_admin):
        return [("pending", _("Not yet read by me"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(
                pk__in=services.pending_for(request.user).values("pk")
            )
        return queryset


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    form = ProcedureForm
    list_display = (
        "title",
        "kind",
        "version_number",
        "published_at",
        "read_count",
        "archived",
    )
    list_filter = (NotReadByMeFilter, "kind", "archived")
    list_select_related = ("current_version",)
    search_fields = ("title", "slug")
    date_hierarchy = "created_at"
    inlines = [VersionInline]
    change_list_template = "procedures/admin/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(reads=Count("current_version__acknowledgements"))
        )

    def get_fieldsets(self, request, obj=None):
        if self.has_change_permission(request, obj) or obj is None:
            fields = ["kind", "title", "slug", "body", "change_note", "archived"]
        else:
            fields = ["kind", "title"]
        shown = ["current_text", "acknowledge_button"] if obj is not None else []
        if obj is not None and request.user.has_perm("procedures.change_procedure"):
            shown.append("not_read_by")
        sets: list[tuple[Any, dict[str, list[str]]]] = [(None, {"fields": fields})]
        if shown:
            sets.append((_("Version in force"), {"fields": shown}))
        return sets

    def get_readonly_fields(self, request, obj=None):
        readonly = ["current_text", "acknowledge_button", "not_read_by"]
        if obj is not None and not self.has_change_permission(request, obj):
            readonly += ["kind", "title"]
        return readonly

    @admin.display(description=_("version"))
    def version_number(self, obj: Procedure):
        return obj.current_version.number if obj.current_version else "—"

    @admin.display(
        description=_("published at"), ordering="current_version__published_at"
    )
    def published_at(self, obj: Procedure):
        return obj.current_version.published_at if obj.current_version else None

    @admin.display(description=_("read by"), ordering="reads")
    def read_count(self, obj: Procedure) -> int:
        return getattr(obj, "reads", 0)

    @admin.display(description=_("text"))
    def current_text(self, obj: Procedure) -> str:
        version = obj.current_version
        if version is None:
            return "—"
        note = (
            format_html("<p><em>{}</em></p>", version.change_note)
            if version.change_note
            else ""
        )
        return format_html(
            "<p><strong>{}</strong></p>{}<div>{}</div>",
            str(version),
            note,
            mark_safe(linebreaks(version.body, autoescape=True)),  # noqa: S308 - escaped  # nosec B308 B703
        )

    @admin.display(description=_("your reading"))
    def acknowledge_button(self, obj: Procedure) -> str:
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:procedures_procedure_acknowledge", args=[obj.pk]),
            gettext("I have read this version"),
        )

    @admin.display(description=_("not read yet by"))
    def not_read_by(self, obj: Procedure) -> str:
        if obj.current_version_id is None:
            return "—"
        read = Acknowledgement.objects.filter(version_id=obj.current_version_id)
        missing = services.staff_members().exclude(pk__in=read.values("user_id"))
        names = [user.get_full_name() or user.email for user in missing]
        return ", ".join(names) or gettext("Everybody has read it.")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if not change:
                created = services.create_procedure(
                    kind=data["kind"],
                    title=data["title"],
                    body=data["body"],
                    slug=data.get("slug") or "",
                    by=request.user,
                )
                obj.pk = created.pk
                obj.current_version = created.current_version
                return
            Procedure.objects.filter(pk=obj.pk).update(
                kind=obj.kind,
                slug=obj.slug or form.initial["slug"],
                archived=obj.archived,
            )
            services.publish_version(
                procedure=obj,
                title=data["title"],
                body=data["body"],
                change_note=data.get("change_note") or "",
                by=request.user,
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)

    def get_urls(self):
        return [
            path(
                "<int:pk>/acknowledge/",
                self.admin_site.admin_view(self.acknowledge_view),
                name="procedures_procedure_acknowledge",
            ),
            path(
                "pending/",
                self.admin_site.admin_view(self.pending_view),
                name="procedures_procedure_pending",
            ),
            *super().get_urls(),
        ]

    def acknowledge_view(self, request, pk: int):
        if not request.user.has_perm("procedures.acknowledge_procedure"):
            raise PermissionDenied
        procedure = get_object_or_404(
            Procedure.objects.select_related("current_version"), pk=pk
        )
        if request.method == "POST":
            try:
                services.acknowledge(procedure=procedure, user=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("Thank you: your reading of “%(title)s” is recorded.")
                    % {"title": procedure.title},
                    messages.SUCCESS,
                )
            return redirect("admin:procedures_procedure_pending")
        already = Acknowledgement.objects.filter(
            version_id=procedure.current_version_id, user=request.user
        ).first()
        return TemplateResponse(
            request,
            "procedures/admin/acknowledge.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": procedure.title,
                "procedure": procedure,
                "version": procedure.current_version,
                "already": already,
            },
        )

    def pending_view(self, request):
        if not request.user.has_perm("procedures.view_procedure"):
            raise PermissionDenied
        is_manager = request.user.has_perm("procedures.change_procedure")
        return TemplateResponse(
            request,
            "procedures/admin/pending.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Procedures to read"),
                "mine": services.pending_for(request.user),
                "everyone": services.pending_acknowledgements() if is_manager else None,
            },
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "pending_count": services.pending_for(request.user).count(),
        }
        return super().changelist_view(request, extra_context)


@admin.register(ProcedureVersion)
class ProcedureVersionAdmin(admin.ModelAdmin):
    list_display = ("procedure", "number", "title", "published_at", "published_by")
    list_filter = ("procedure__kind", "procedure")
    list_select_related = ("procedure", "published_by")
    search_fields = ("title", "procedure__title")
    date_hierarchy = "published_at"
    autocomplete_fields = ("procedure",)
    fields = (
        "procedure",
        "number",
        "title",
        "body",
        "change_note",
        "published_at",
        "published_by",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Acknowledgement)
class AcknowledgementAdmin(admin.ModelAdmin):
    list_display = ("user", "procedure", "version_number", "acknowledged_at")
    list_filter = ("version__procedure__kind", "version__procedure")
    list_select_related = ("user", "version__procedure")
    search_fields = ("user__email", "user__last_name", "version__procedure__title")
    date_hierarchy = "acknowledged_at"
    autocomplete_fields = ("user", "version")
    readonly_fields = ("user", "version", "acknowledged_at")

    @admin.display(description=_("procedure"), ordering="version__procedure__title")
    def procedure(self, obj: Acknowledgement) -> str:
        return obj.version.procedure.title

    @admin.display(description=_("version"), ordering="version__number")
    def version_number(self, obj: Acknowledgement) -> int:
        return obj.version.number

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
