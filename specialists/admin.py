"""The back-office side of the directory.

Concierges keep practitioners, places, hours and exceptions up to date, record
verifications (an RPPS key failing its check shows as a warning, never blocks),
moderate reviews, and search and rank practitioners for a care request, then
shortlist and propose them. Every write that matters goes through services.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.postgres.forms import SimpleArrayField
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .geocoding import geocode
from .matching import MatchCriteria, Mode, rank_practitioners
from .models import (
    LANGUAGE_CHOICES,
    AvailabilityException,
    ConsultationType,
    IntakeQuestion,
    OpeningHours,
    PostalCode,
    PracticePlace,
    Practitioner,
    Review,
    Shortlist,
    ShortlistEntry,
    Specialty,
    SpecialtyProcedure,
    VerificationRecord,
)
from .search import DEFAULT_RADIUS_KM, text_query
from .text import fold
from .validators import normalize_rpps

DUE_SOON_DAYS = 30


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- Filters --------------------------------------------------------------------------


class VerificationFilter(admin.SimpleListFilter):
    title = _("verification")
    parameter_name = "verification"

    def lookups(self, request, model_admin):
        return [
            ("valid", _("Verified")),
            ("due_soon", _("Re-verification due within 30 days")),
            ("expired", _("Verification expired")),
            ("never", _("Never verified")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        soon = today + timedelta(days=DUE_SOON_DAYS)
        match self.value():
            case "valid":
                return queryset.filter(verified_until__gte=today)
            case "due_soon":
                return queryset.filter(
                    verified_until__gte=today, verified_until__lte=soon
                )
            case "expired":
                return queryset.filter(verified_until__lt=today)
            case "never":
                return queryset.filter(verified_until__isnull=True)
        return queryset


# --- Inlines --------------------------------------------------------------------------


class PracticePlaceInline(admin.StackedInline):
    model = PracticePlace
    extra = 0
    fields = (
        ("name", "is_primary", "is_active"),
        "address",
        "address_complement",
        ("postal_code", "commune"),
        ("latitude", "longitude", "geocode_precision"),
        "phone",
        "access_notes",
    )
    readonly_fields = ["geocode_precision"]


class PractitionerChildInline(admin.TabularInline):
    """Inlines whose place must be one of this practitioner's places."""

    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        self._practitioner = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "place":
            practitioner = getattr(self, "_practitioner", None)
            kwargs["queryset"] = (
                PracticePlace.objects.filter(practitioner=practitioner)
                if practitioner is not None
                else PracticePlace.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OpeningHoursInline(PractitionerChildInline):
    model = OpeningHours
    fields = (
        "weekday",
        "starts_at",
        "ends_at",
        "place",
        "in_person",
        "remote",
        "valid_from",
        "valid_until",
    )


class ConsultationTypeInline(admin.TabularInline):
    model = ConsultationType
    extra = 0
    fields = ("kind", "duration_minutes", "fee", "is_active")


class AvailabilityExceptionInline(PractitionerChildInline):
    model = AvailabilityException
    fields = ("kind", "starts_at", "ends_at", "place", "remote", "reason")

    def get_queryset(self, request):
        # Past exceptions no longer matter and would make the page endless.
        since = timezone.now() - timedelta(days=30)
        return super().get_queryset(request).filter(ends_at__gte=since)


class VerificationInline(admin.TabularInline):
    model = VerificationRecord
    extra = 0
    fields = ("kind", "outcome", "checked_by", "checked_at", "valid_until", "evidence")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = _("verifications (record one with the action of the list)")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Practitioners --------------------------------------------------------------------


class PractitionerAdminForm(forms.ModelForm):
    rpps = forms.CharField(
        label=_("RPPS number"),
        max_length=20,  # spaces and dots typed by people are dropped below
        required=False,
        help_text=_("11 digits, from the Annuaire Santé."),
    )
    languages = forms.MultipleChoiceField(
        label=_("languages spoken"),
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Practitioner
        fields = ["rpps", "languages"]  # the admin's fieldsets add the others

    def clean_rpps(self) -> str | None:
        value = normalize_rpps(self.cleaned_data.get("rpps") or "")
        return value or None


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    form = PractitionerAdminForm
    change_list_template = "specialists/admin/practitioner_change_list.html"
    list_display = [
        "display_name",
        "specialty_names",
        "main_commune",
        "sector",
        "verification_status",
        "rpps_display",
        "rating_display",
        "next_available_at",
        "is_active",
    ]
    list_filter = [
        VerificationFilter,
        "specialties",
        "sector",
        "teleconsultation",
        "wheelchair_accessible",
        "is_active",
        "rpps_key_valid",
        "source",
        "gender",
    ]
    search_fields = ["last_name", "first_name", "rpps"]
    search_help_text = _(
        "Name (accents and typos forgiven), specialty, RPPS number or postal code."
    )
    filter_horizontal = ["specialties"]
    autocomplete_fields = ["user"]
    list_per_page = 50
    inlines = [
        PracticePlaceInline,
        OpeningHoursInline,
        ConsultationTypeInline,
        AvailabilityExceptionInline,
        VerificationInline,
    ]
    readonly_fields = [
        "public_id",
        "rpps_key_warning",
        "verification_status",
        "verified_at",
        "verified_until",
        "rating_average",
        "rating_count",
        "next_available_at",
        "availability_refreshed_at",
        "source",
        "rpps_refreshed_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = (
        (
            _("Identity"),
            {
                "fields": (
                    ("civility", "first_name", "last_name"),
                    ("gender", "profession"),
                    ("rpps", "rpps_key_warning"),
                    "specialties",
                    "languages",
                    "photo",
                    "bio",
                )
            },
        ),
        (
            _("Practice and fees"),
            {
                "fields": (
                    "sector",
                    ("consultation_fee", "usual_overrun", "negotiated_rate"),
                    ("teleconsultation", "wheelchair_accessible"),
                )
            },
        ),
        (
            _("Booking rules"),
            {
                "fields": (
                    (
                        "buffer_minutes",
                        "minimum_notice_minutes",
                        "booking_horizon_days",
                    ),
                    ("next_available_at", "availability_refreshed_at"),
                )
            },
        ),
        (
            _("For the concierge"),
            {
                "fields": (
                    ("contact_name", "contact_phone", "contact_email"),
                    "concierge_notes",
                    "user",
                )
            },
        ),
        (
            _("Status"),
            {
                "fields": (
                    "is_active",
                    ("verification_status", "verified_at", "verified_until"),
                    ("rating_average", "rating_count"),
                    ("source", "rpps_refreshed_at"),
                    ("public_id", "created_at", "updated_at"),
                )
            },
        ),
    )

    class Media:
        css = {"all": ["specialists/admin.css"]}

    actions = [
        "record_verification",
        "refresh_next_availability",
        "list_practitioners",
        "unlist_practitioners",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("specialties", "places")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(rpps=normalize_rpps(term)) | Q(places__postal_code=term)
        search = text_query(term)
        if search is not None:
            condition |= Q(search_vector=search) | Q(
                search_name__trigram_word_similar=fold(term)
            )
        return queryset.filter(condition), True

    @admin.display(description=_("specialties"))
    def specialty_names(self, obj: Practitioner) -> str:
        return ", ".join(specialty.label for specialty in obj.specialties.all())

    @admin.display(description=_("main place"))
    def main_commune(self, obj: Practitioner) -> str:
        places = [place for place in obj.places.all() if place.is_active]
        return str(places[0]) if places else "—"

    @admin.display(description=_("verification"))
    def verification_status(self, obj: Practitioner) -> str:
        today = timezone.localdate()
        if obj.verified_until is None:
            return format_html(
                '<span class="specialists-warning">{}</span>', gettext("Not verified")
            )
        if obj.verified_until < today:
            return format_html(
                '<span class="specialists-warning">{}</span>',
                gettext("Expired on %(date)s")
                % {"date": obj.verified_until.strftime("%d/%m/%Y")},
            )
        label = gettext("Until %(date)s") % {
            "date": obj.verified_until.strftime("%d/%m/%Y")
        }
        if obj.verified_until <= today + timedelta(days=DUE_SOON_DAYS):
            return format_html('<span class="specialists-soon">{}</span>', label)
        return label

    @admin.display(description=_("RPPS"), ordering="rpps")
    def rpps_display(self, obj: Practitioner) -> str:
        if not obj.rpps:
            return "—"
        if obj.rpps_key_valid is False:
            return format_html(
                '{} <span class="specialists-warning" title="{}">⚠</span>',
                obj.rpps,
                gettext("The check digit is wrong: confirm the number."),
            )
        return obj.rpps

    @admin.display(description=_("RPPS key"))
    def rpps_key_warning(self, obj: Practitioner) -> str:
        if obj.rpps_key_valid is False:
            return format_html(
                '<strong class="specialists-warning">{}</strong>',
                gettext(
                    "The last digit fails the Luhn check: confirm the number with "
                    "the practitioner or on annuaire.sante.fr."
                ),
            )
        if obj.rpps_key_valid:
            return gettext("Check digit correct.")
        return "—"

    @admin.display(description=_("rating"), ordering="rating_average")
    def rating_display(self, obj: Practitioner) -> str:
        if not obj.rating_count:
            return "—"
        return f"{obj.rating_average}/5 ({obj.rating_count})"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.rpps_key_valid is False and "rpps" in form.changed_data:
            messages.warning(
                request,
                gettext(
                    "The RPPS number %(rpps)s fails its check digit: it was saved, "
                    "please confirm it."
                )
                % {"rpps": obj.rpps},
            )

    def save_formset(self, request, form, formset, change):
        if formset.model is PracticePlace:
            for place_form in formset.forms:
                if place_form.has_changed() and not place_form.cleaned_data.get(
                    "DELETE"
                ):
                    _locate_place(place_form)
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        practitioner = form.instance
        services.refresh_search_columns(practitioner_ids=[practitioner.pk])
        services.availability_changed(practitioner_id=practitioner.pk)
        missing = practitioner.places.filter(is_active=True, latitude__isnull=True)
        for place in missing:
            messages.warning(
                request,
                gettext(
                    "%(place)s could not be located: enter its coordinates, or it "
                    "will not appear in searches by distance."
                )
                % {"place": place},
            )

    # Actions

    @admin.action(description=_("Record a verification"), permissions=["verify"])
    def record_verification(self, request, queryset):
        form = VerificationForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for practitioner in queryset:
                try:
                    services.verify_practitioner(
                        practitioner=practitioner, by=request.user, **form.cleaned_data
                    )
                except ValidationError as error:
                    messages.error(request, f"{practitioner}: {_error_text(error)}")
                else:
                    done += 1
            if done:
                messages.success(
                    request,
                    gettext("%(count)s verification(s) recorded.") % {"count": done},
                )
            return None
        return TemplateResponse(
            request,
            "specialists/admin/verify.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Record a verification"),
                "form": form,
                "practitioners": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    def has_verify_permission(self, request) -> bool:
        return request.user.has_perm("specialists.verify_practitioner")

    @admin.action(description=_("Recompute the next free slot"))
    def refresh_next_availability(self, request, queryset):
        count = services.refresh_availability(
            practitioner_ids=list(queryset.values_list("pk", flat=True))
        )
        messages.success(
            request, gettext("%(count)s practitioner(s) refreshed.") % {"count": count}
        )

    @admin.action(description=_("List in the directory"), permissions=["change"])
    def list_practitioners(self, request, queryset):
        queryset.update(is_active=True, updated_at=timezone.now())

    @admin.action(description=_("Unlist from the directory"), permissions=["change"])
    def unlist_practitioners(self, request, queryset):
        queryset.update(is_active=False, updated_at=timezone.now())

    # Search and match

    def get_urls(self):
        return [
            path(
                "match/",
                self.admin_site.admin_view(self.match_view),
                name="specialists_practitioner_match",
            ),
            *super().get_urls(),
        ]

    def match_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = MatchForm(request.POST or request.GET or None)
        results = []
        if form.is_bound and form.is_valid():
            criteria = form.to_criteria()
            results = rank_practitioners(criteria, limit=form.cleaned_data["limit"])
            if request.method == "POST" and "shortlist" in request.POST:
                chosen = set(request.POST.getlist("chosen"))
                matches = [
                    r for r in results if str(r.practitioner.public_id) in chosen
                ]
                if not request.user.has_perm("specialists.add_shortlist"):
                    raise PermissionDenied
                try:
                    with transaction.atomic():
                        shortlist = services.shortlist_from_matches(
                            request_reference=form.cleaned_data["request_reference"],
                            by=request.user,
                            matches=matches,
                            criteria=criteria.as_dict(),
                        )
                except ValidationError as error:
                    messages.error(request, _error_text(error))
                else:
                    messages.success(
                        request,
                        gettext("Shortlist created: check it, then propose it."),
                    )
                    return HttpResponseRedirect(
                        reverse(
                            "admin:specialists_shortlist_change", args=[shortlist.pk]
                        )
                    )
        return TemplateResponse(
            request,
            "specialists/admin/match.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Search and match practitioners"),
                "form": form,
                "results": results,
                "opts": self.model._meta,
                "can_shortlist": request.user.has_perm("specialists.add_shortlist"),
            },
        )


def _locate_place(place_form: forms.ModelForm) -> None:
    """Typed coordinates win; otherwise the postal code and commune locate the place."""
    place = place_form.instance
    typed = {"latitude", "longitude"} & set(place_form.changed_data)
    if typed and place.latitude is not None and place.longitude is not None:
        place.geocode_precision = PracticePlace.GeocodePrecision.MANUAL
        return
    moved = {"postal_code", "commune"} & set(place_form.changed_data)
    if place.latitude is None or (
        moved and place.geocode_precision != PracticePlace.GeocodePrecision.MANUAL
    ):
        point = geocode(postal_code=place.postal_code, commune=place.commune)
        if point is None:
            place.latitude = place.longitude = None
            place.geocode_precision = PracticePlace.GeocodePrecision.NONE
        else:
            place.latitude, place.longitude = point.latitude, point.longitude
            place.geocode_precision = point.precision


class VerificationForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What was checked"), choices=VerificationRecord.Kind.choices
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=VerificationRecord.Outcome.choices,
        initial=VerificationRecord.Outcome.VERIFIED,
    )
    evidence = forms.CharField(
        label=_("Evidence"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was seen: register URL, document reference, call."),
    )
    valid_until = forms.DateField(
        label=_("Re-verification due"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=lambda: timezone.localdate() + timedelta(days=365),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class MatchForm(forms.Form):
    request_reference = forms.CharField(
        label=_("Care request"),
        max_length=64,
        required=False,
        help_text=_("Its reference (D-…), to create the shortlist."),
    )
    specialty = forms.ModelChoiceField(
        label=_("Specialty"),
        queryset=Specialty.objects.filter(is_active=True),
        to_field_name="code",
    )
    postal_code = forms.CharField(label=_("Postal code"), max_length=5, required=False)
    commune = forms.CharField(label=_("Commune"), max_length=120, required=False)
    radius_km = forms.FloatField(
        label=_("Radius (km)"), min_value=1, max_value=200, initial=DEFAULT_RADIUS_KM
    )
    mode = forms.ChoiceField(label=_("Consultation"), choices=Mode.CHOICES)
    languages = forms.MultipleChoiceField(
        label=_("Patient speaks"),
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    gender = forms.ChoiceField(
        label=_("Preferred practitioner"),
        choices=[
            ("", _("No preference")),
            (Practitioner.Gender.FEMALE, _("A woman")),
            (Practitioner.Gender.MALE, _("A man")),
        ],
        required=False,
    )
    budget = forms.DecimalField(
        label=_("Budget (€)"), min_value=0, decimal_places=2, required=False
    )
    wheelchair_required = forms.BooleanField(
        label=_("Wheelchair access needed"), required=False
    )
    available_before = forms.DateField(
        label=_("Available on or before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    exclude = SimpleArrayField(
        forms.UUIDField(),
        label=_("Exclude practitioners"),
        required=False,
        help_text=_("Public ids, comma separated (practitioners already refused)."),
    )
    limit = forms.IntegerField(
        label=_("Results"), min_value=1, max_value=100, initial=20
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("mode") != Mode.TELECONSULTATION
            and not data.get("postal_code")
            and not data.get("commune")
        ):
            raise ValidationError(
                _("Give a postal code or a commune, or choose teleconsultation."),
                code="place_required",
            )
        if (data.get("postal_code") or data.get("commune")) and geocode(
            postal_code=data.get("postal_code", ""), commune=data.get("commune", "")
        ) is None:
            self.add_error(
                "postal_code",
                ValidationError(
                    _("This place could not be found."), code="unknown_place"
                ),
            )
        if "shortlist" in self.data and not data.get("request_reference"):
            self.add_error(
                "request_reference",
                ValidationError(
                    _("Give the care request to shortlist for."),
                    code="reference_required",
                ),
            )
        return data

    def to_criteria(self) -> MatchCriteria:
        data = self.cleaned_data
        excluded = data.get("exclude") or []
        return MatchCriteria(
            specialty=data["specialty"].code,
            postal_code=data.get("postal_code", ""),
            commune=data.get("commune", ""),
            radius_km=data["radius_km"],
            mode=data["mode"],
            languages=tuple(data.get("languages") or ()),
            gender=data.get("gender", ""),
            budget=data.get("budget"),
            wheelchair_required=data.get("wheelchair_required", False),
            available_before=data.get("available_before"),
            exclude=frozenset(
                Practitioner.objects.filter(public_id__in=excluded).values_list(
                    "pk", flat=True
                )
            ),
        )


# --- Reviews --------------------------------------------------------------------------


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    date_hierarchy = "created_at"
    list_display = ["practitioner", "rating", "short_comment", "state", "created_at"]
    list_filter = ["state", "rating"]
    search_fields = ["practitioner__last_name", "comment", "source_reference"]
    list_select_related = ["practitioner"]
    readonly_fields = [
        "practitioner",
        "rating",
        "comment",
        "author",
        "source_reference",
        "state",
        "moderated_by",
        "moderated_at",
        "rejection_reason",
        "created_at",
    ]
    fields = readonly_fields
    actions = ["publish_reviews", "reject_reviews"]

    def has_add_permission(self, request) -> bool:
        return False  # reviews come from the satisfaction surveys

    @admin.display(description=_("comment"))
    def short_comment(self, obj: Review) -> str:
        return obj.comment if len(obj.comment) < 80 else obj.comment[:77] + "…"

    @admin.action(description=_("Publish"), permissions=["moderate"])
    def publish_reviews(self, request, queryset):
        for review in queryset:
            try:
                services.publish_review(review=review, by=request.user)
            except ValidationError as error:
                messages.error(request, f"{review}: {_error_text(error)}")

    @admin.action(description=_("Reject"), permissions=["moderate"])
    def reject_reviews(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for review in queryset:
                try:
                    services.reject_review(
                        review=review,
                        by=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                except ValidationError as error:
                    messages.error(request, f"{review}: {_error_text(error)}")
            return None
        return TemplateResponse(
            request,
            "specialists/admin/reject_reviews.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Reject reviews"),
                "form": form,
                "reviews": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    def has_moderate_permission(self, request) -> bool:
        return request.user.has_perm("specialists.moderate_review")


# --- Shortlists -----------------------------------------------------------------------


class ShortlistEntryForm(forms.ModelForm):
    class Meta:
        model = ShortlistEntry
        fields = ["practitioner", "position", "note"]

    def clean_practitioner(self):
        practitioner = self.cleaned_data["practitioner"]
        if "practitioner" in self.changed_data and not practitioner.is_proposable():
            raise ValidationError(
                _("This practitioner is not verified and cannot be proposed."),
                code="not_proposable",
            )
        return practitioner


class ShortlistEntryInline(admin.TabularInline):
    model = ShortlistEntry
    form = ShortlistEntryForm
    extra = 0
    fields = ["position", "practitioner", "score", "explanation", "note"]
    readonly_fields = ["score", "explanation"]
    autocomplete_fields = ["practitioner"]

    def _editable(self, obj) -> bool:
        return obj is None or obj.state == Shortlist.State.DRAFT

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(Shortlist)
class ShortlistAdmin(admin.ModelAdmin):
    date_hierarchy = "created_at"
    list_display = [
        "request_reference",
        "state",
        "entry_count",
        "created_by",
        "created_at",
        "published_at",
    ]
    list_filter = ["state"]
    search_fields = ["request_reference"]
    readonly_fields = [
        "state",
        "criteria",
        "created_by",
        "published_by",
        "published_at",
        "public_id",
    ]
    fields = ["request_reference", "message", *readonly_fields]
    inlines = [ShortlistEntryInline]
    actions = ["propose", "withdraw"]

    def get_queryset(self, request):
        return (
            Shortlist.objects.visible_to(request.user)
            .select_related("created_by")
            .annotate(entries_total=Count("entries"))
        )

    @admin.display(description=_("practitioners"), ordering="entries_total")
    def entry_count(self, obj: Shortlist) -> int:
        return obj.entries_total

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.state != Shortlist.State.DRAFT:
            fields += ["request_reference", "message"]
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.create_shortlist(
            request_reference=obj.request_reference,
            by=request.user,
            message=obj.message,
        )
        obj.pk, obj.public_id, obj.created_by = (
            created.pk,
            created.public_id,
            created.created_by,
        )
        obj._state.adding = False

    @admin.action(description=_("Propose to the patient"), permissions=["publish"])
    def propose(self, request, queryset):
        for shortlist in queryset:
            try:
                services.publish_shortlist(shortlist=shortlist, by=request.user)
            except ValidationError as error:
                messages.error(request, f"{shortlist}: {_error_text(error)}")
            else:
                messages.success(
                    request,
                    gettext("%(shortlist)s proposed.") % {"shortlist": shortlist},
                )

    @admin.action(description=_("Withdraw"), permissions=["publish"])
    def withdraw(self, request, queryset):
        for shortlist in queryset:
            try:
                services.withdraw_shortlist(shortlist=shortlist, by=request.user)
            except ValidationError as error:
                messages.error(request, f"{shortlist}: {_error_text(error)}")

    def has_publish_permission(self, request) -> bool:
        return request.user.has_perm("specialists.publish_shortlist")


# --- Catalogue and reference data -----------------------------------------------------


class ProcedureInline(admin.TabularInline):
    model = SpecialtyProcedure
    extra = 0
    fields = ["sort_order", "code", "name", "name_en", "kind"]


class IntakeQuestionInline(admin.StackedInline):
    model = IntakeQuestion
    extra = 0
    fields = [
        ("sort_order", "code", "answer_type", "required"),
        "text",
        "text_en",
        "help_text",
        "choices",
    ]


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "direct_access",
        "is_medical",
        "practitioner_count",
        "is_active",
    ]
    list_filter = ["is_active", "direct_access", "is_medical"]
    search_fields = ["name", "name_en", "code", "keywords"]
    inlines = [ProcedureInline, IntakeQuestionInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(practitioners_total=Count("practitioners"))
        )

    def get_readonly_fields(self, request, obj=None):
        # Codes are stored by other apps: they never change once created.
        return ["code"] if obj is not None else []

    @admin.display(description=_("practitioners"), ordering="practitioners_total")
    def practitioner_count(self, obj: Specialty) -> int:
        return obj.practitioners_total

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"name", "name_en", "keywords", "practitioner_title"} & set(
            form.changed_data
        ):
            services.refresh_search_columns(
                practitioner_ids=obj.practitioners.values_list("pk", flat=True)
            )


@admin.register(VerificationRecord)
class VerificationRecordAdmin(admin.ModelAdmin):
    list_display = [
        "practitioner",
        "kind",
        "outcome",
        "checked_by",
        "checked_at",
        "valid_until",
    ]
    list_filter = ["outcome", "kind"]
    search_fields = ["practitioner__last_name", "practitioner__rpps", "evidence"]
    list_select_related = ["practitioner", "checked_by"]
    date_hierarchy = "checked_at"

    def has_add_permission(self, request) -> bool:
        return False  # through the practitioners' action, which updates them

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PostalCode)
class PostalCodeAdmin(admin.ModelAdmin):
    list_display = [
        "postal_code",
        "commune",
        "line_5",
        "routing_label",
        "latitude",
        "longitude",
    ]
    search_fields = ["=postal_code", "commune_key", "routing_key"]
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        from .text import commune_key

        term = search_term.strip()
        if not term:
            return queryset, False
        key = commune_key(term)
        return queryset.filter(
            Q(postal_code=term) | Q(commune_key__startswith=key) | Q(routing_key=key)
        ), False

    def has_add_permission(self, request) -> bool:
        return False  # loaded by `manage.py import_postal_codes`

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
