"""Back-office of partnerships: organisations, API keys, webhooks and their log.

Keys and webhook secrets are shown once, on the page that follows their creation
or rotation; they are stored hashed (client secrets) or encrypted (webhook
secrets) and never displayed again.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import (
    Contact,
    EventType,
    Organisation,
    PartnerApplication,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

SECRETS_PAGE = "partners/admin/secret.html"
StrOrPromise = str | Promise


def _scope_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} — {text}") for name, text in settings.API_SCOPES.items()]


def show_secrets(
    request, *, title: StrOrPromise, rows: list[dict], note: StrOrPromise
) -> TemplateResponse:
    """The one page where freshly made secrets appear; nothing keeps them."""
    response = TemplateResponse(
        request,
        SECRETS_PAGE,
        {
            **admin.site.each_context(request),
            "title": title,
            "rows": rows,
            "note": note,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


def _apply(modeladmin, request, queryset, service, done_message) -> int:
    count = 0
    for obj in queryset:
        try:
            service(obj)
        except ValidationError as error:
            modeladmin.message_user(
                request, f"{obj}: {error.messages[0]}", messages.WARNING
            )
        else:
            count += 1
    if count:
        modeladmin.message_user(
            request, done_message(count) % {"count": count}, messages.SUCCESS
        )
    return count


# --- Organisations -----------------------------------------------------------------


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 1
    fields = ["role", "name", "email", "phone"]


class ApplicationInline(admin.TabularInline):
    model = PartnerApplication
    extra = 0
    fields = ("application", "allowed_scopes", "secret_rotated_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "throttle_rate", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "siret", "contacts__email"]
    inlines = [ContactInline, ApplicationInline]
    fields = [
        "name",
        "kind",
        "siret",
        "throttle_rate",
        "notes",
        "is_active",
        "service_user",
        "public_id",
    ]
    readonly_fields = ["is_active", "service_user", "public_id"]
    actions = ["suspend", "restore"]

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.create_organisation(
            name=obj.name,
            kind=obj.kind,
            siret=obj.siret,
            throttle_rate=obj.throttle_rate,
            notes=obj.notes,
        )
        obj.pk = created.pk
        obj.public_id = created.public_id
        obj.service_user = created.service_user
        obj.created_at, obj.updated_at = created.created_at, created.updated_at
        obj._state.adding = False

    @admin.action(
        description=_("Suspend: revoke tokens, stop API access and webhooks"),
        permissions=["change"],
    )
    def suspend(self, request, queryset) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda org: services.set_organisation_active(
                organisation=org, active=False
            ),
            lambda n: ngettext(
                "%(count)d organisation suspended.",
                "%(count)d organisations suspended.",
                n,
            ),
        )

    @admin.action(description=_("Restore API access"), permissions=["change"])
    def restore(self, request, queryset) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda org: services.set_organisation_active(organisation=org, active=True),
            lambda n: ngettext(
                "%(count)d organisation restored.",
                "%(count)d organisations restored.",
                n,
            ),
        )


# --- Applications ------------------------------------------------------------------


class PartnerApplicationForm(forms.ModelForm):
    name = forms.CharField(label=_("name"), max_length=255)
    allowed_scopes = forms.MultipleChoiceField(
        label=_("allowed scopes"),
        choices=_scope_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = PartnerApplication
        fields = ["organisation", "allowed_scopes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["name"].initial = self.instance.application.name
            self.fields["organisation"].disabled = True


@admin.register(PartnerApplication)
class PartnerApplicationAdmin(admin.ModelAdmin):
    form = PartnerApplicationForm
    list_display = [
        "__str__",
        "organisation",
        "client_id",
        "scopes",
        "secret_rotated_at",
        "revoked_at",
    ]
    list_filter = ["organisation__kind", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = [
        "application__name",
        "application__client_id",
        "organisation__name",
    ]
    readonly_fields = ["client_id", "secret_rotated_at", "revoked_at", "revoked_by"]
    list_select_related = ["application", "organisation"]
    actions = ["rotate_secret", "revoke"]

    def get_fields(self, request, obj=None):
        fields = ["organisation", "name", "allowed_scopes"]
        return fields + self.readonly_fields if obj else fields

    @admin.display(description=_("scopes"))
    def scopes(self, obj: PartnerApplication) -> str:
        return " ".join(obj.allowed_scopes)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            with transaction.atomic():
                application = obj.application
                application.name = data["name"]
                application.save(update_fields=["name", "updated"])
                services.set_allowed_scopes(profile=obj, scopes=data["allowed_scopes"])
            return
        profile, secret = services.create_application(
            organisation=data["organisation"],
            name=data["name"],
            scopes=data["allowed_scopes"],
        )
        obj.pk = profile.pk
        obj.application = profile.application
        obj._state.adding = False
        request._partner_secrets = [_secret_row(profile, secret)]

    def save_related(self, request, form, formsets, change) -> None:
        """Scopes were saved by the service; nothing else is related."""

    def response_add(self, request, obj, post_url_continue=None):
        return show_secrets(
            request,
            title=_("Client credentials of %(name)s") % {"name": obj},
            rows=getattr(request, "_partner_secrets", []),
            note=_(
                "Give the client id and secret to the partner's technical contact "
                "through a secure channel. The secret is shown only now."
            ),
        )

    @admin.action(description=_("Rotate the client secret"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        rows = []
        for profile in queryset.select_related("application"):
            try:
                secret = services.rotate_application_secret(profile=profile)
            except ValidationError as error:
                self.message_user(
                    request, f"{profile}: {error.messages[0]}", messages.WARNING
                )
            else:
                rows.append(_secret_row(profile, secret))
        if not rows:
            return None
        return show_secrets(
            request,
            title=_("New client secrets"),
            rows=rows,
            note=_(
                "The previous secrets no longer work; tokens already issued expire "
                "within the hour (revoke the application to cut them now). The "
                "secrets are shown only now."
            ),
        )

    @admin.action(
        description=_("Revoke: delete its tokens and refuse new ones"),
        permissions=["change"],
    )
    def revoke(self, request, queryset) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda profile: services.revoke_application(
                profile=profile, by=request.user
            ),
            lambda n: ngettext(
                "%(count)d application revoked.", "%(count)d applications revoked.", n
            ),
        )


def _secret_row(profile: PartnerApplication, secret: str) -> dict:
    return {
        "label": str(profile),
        "items": [(_("Client id"), profile.client_id), (_("Client secret"), secret)],
    }


# --- Webhooks ----------------------------------------------------------------------


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=300, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("events"),
        choices=[
            (value, label)
            for value, label in EventType.choices
            if value in EventType.subscribable()
        ],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookSubscription
        fields = ["organisation", "url", "event_types", "description"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = [
        "organisation",
        "url",
        "events",
        "is_active",
        "failing_since",
        "last_success_at",
    ]
    list_filter = ["is_active", "organisation"]
    search_fields = ["url", "organisation__name", "public_id"]
    readonly_fields = [
        "public_id",
        "is_active",
        "disabled_at",
        "disabled_cause",
        "failing_since",
        "consecutive_failed_deliveries",
        "last_success_at",
    ]
    list_select_related = ["organisation"]
    actions = ["send_test", "enable", "disable", "rotate_secret"]

    @admin.display(description=_("events"))
    def events(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.event_types)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            services.update_subscription(
                subscription=obj,
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
            )
            return
        subscription, secret = services.subscribe(
            organisation=data["organisation"],
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
        )
        obj.pk = subscription.pk
        obj._state.adding = False
        request._partner_secrets = [
            {"label": subscription.url, "items": [(_("Signing secret"), secret)]}
        ]

    def response_add(self, request, obj, post_url_continue=None):
        return show_secrets(
            request,
            title=_("Signing secret of the new subscription"),
            rows=getattr(request, "_partner_secrets", []),
            note=_(
                "The partner verifies the X-Conciergerie-Signature header with this "
                "secret (see docs/api.md). It is shown only now."
            ),
        )

    def delete_model(self, request, obj) -> None:
        services.delete_subscription(subscription=obj)

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test(self, request, queryset) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda sub: services.send_test_event(subscription=sub),
            lambda n: ngettext(
                "%(count)d test event sent.", "%(count)d test events sent.", n
            ),
        )

    @admin.action(description=_("Enable"), permissions=["change"])
    def enable(self, request, queryset) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda sub: services.enable_subscription(subscription=sub),
            lambda n: ngettext(
                "%(count)d subscription enabled.", "%(count)d subscriptions enabled.", n
            ),
        )

    @admin.action(description=_("Disable"), permissions=["change"])
    def disable(self, request, queryset) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda sub: services.disable_subscription(
                subscription=sub,
                cause=str(_("Disabled by %(user)s") % {"user": request.user}),
                notify=False,
            ),
            lambda n: ngettext(
                "%(count)d subscription disabled.",
                "%(count)d subscriptions disabled.",
                n,
            ),
        )

    @admin.action(description=_("Rotate the signing secret"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        rows = [
            {
                "label": subscription.url,
                "items": [
                    (
                        _("Signing secret"),
                        services.rotate_subscription_secret(subscription=subscription),
                    )
                ],
            }
            for subscription in queryset
        ]
        return show_secrets(
            request,
            title=_("New signing secrets"),
            rows=rows,
            note=_(
                "Requests are signed with both the new and the previous secret for "
                "%(hours)s hours, while the partner switches over. Shown only now."
            )
            % {"hours": settings.WEBHOOK_SECRET_OVERLAP_HOURS},
        )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = (
        "attempted_at",
        "status_code",
        "succeeded",
        "error_code",
        "error",
        "duration_ms",
        "response_excerpt",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "event_id",
        "organisation",
        "url",
        "state",
        "attempts",
        "last_status_code",
        "last_attempt_at",
    ]
    list_filter = ["state", "event__event_type", "subscription__organisation"]
    search_fields = ["=event__id", "=public_id", "subscription__url"]
    list_select_related = ["event", "subscription__organisation"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [AttemptInline]
    actions = ["redeliver"]
    fields = (
        "public_id",
        "event",
        "payload",
        "subscription",
        "state",
        "attempts",
        "last_status_code",
        "last_error",
        "last_attempt_at",
        "succeeded_at",
        "failed_at",
        "message",
        "redelivery_of",
    )
    readonly_fields = fields

    @admin.display(description=_("event"), ordering="event__event_type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.event_type

    @admin.display(description=_("event id"))
    def event_id(self, obj: WebhookDelivery) -> str:
        return str(obj.event_id)

    @admin.display(description=_("organisation"))
    def organisation(self, obj: WebhookDelivery) -> str:
        return str(obj.subscription.organisation)

    @admin.display(description=_("URL"))
    def url(self, obj: WebhookDelivery) -> str:
        return obj.subscription.url

    @admin.display(description=_("data"))
    def payload(self, obj: WebhookDelivery) -> dict:
        return obj.event.payload

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The change permission opens the redeliver action; rows stay as logged.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    @admin.action(description=_("Redeliver"), permissions=["change"])
    def redeliver(self, request, queryset) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda delivery: services.redeliver(delivery=delivery),
            lambda n: ngettext(
                "%(count)d event will be delivered again.",
                "%(count)d events will be delivered again.",
                n,
            ),
        )
