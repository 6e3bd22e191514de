"""The portal's directory search form: the API's filters, for people."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .geocoding import GeoPoint, locate
from .models import LANGUAGE_CHOICES, ConsultationType, Practitioner, Specialty
from .search import DEFAULT_RADIUS_KM, Ordering, SearchFilters

RADIUS_CHOICES = [
    (5, _("5 km")),
    (10, _("10 km")),
    (20, _("20 km")),
    (50, _("50 km")),
    (100, _("100 km")),
]


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name or specialty"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("e.g. cardiologist, Dr Martin")}
        ),
    )
    specialty = forms.ModelChoiceField(
        label=_("Specialty"),
        queryset=Specialty.objects.filter(is_active=True),
        to_field_name="code",
        required=False,
        empty_label=_("All specialties"),
    )
    place = forms.CharField(
        label=_("Near (postal code or town)"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "placeholder": _("e.g. 75011 or Lyon"),
                "autocomplete": "postal-code",
            }
        ),
    )
    radius_km = forms.TypedChoiceField(
        label=_("Within"),
        choices=RADIUS_CHOICES,
        coerce=int,
        required=False,
        initial=DEFAULT_RADIUS_KM,
    )
    language = forms.ChoiceField(
        label=_("Speaks"),
        choices=[("", _("Any language")), *LANGUAGE_CHOICES],
        required=False,
    )
    gender = forms.ChoiceField(
        label=_("Practitioner"),
        choices=[
            ("", _("Woman or man")),
            (Practitioner.Gender.FEMALE, _("A woman")),
            (Practitioner.Gender.MALE, _("A man")),
        ],
        required=False,
    )
    sector = forms.MultipleChoiceField(
        label=_("Convention sector"),
        choices=Practitioner.Sector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    max_fee = forms.DecimalField(
        label=_("Maximum fee (€)"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(1000),
        decimal_places=2,
    )
    teleconsultation = forms.BooleanField(
        label=_("Offers teleconsultation"), required=False
    )
    wheelchair_accessible = forms.BooleanField(
        label=_("Wheelchair accessible"), required=False
    )
    available_before = forms.DateField(
        label=_("Available on or before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    ordering = forms.ChoiceField(
        label=_("Sort by"), choices=Ordering.CHOICES, required=False
    )

    def clean_place(self) -> GeoPoint | None:
        text = self.cleaned_data.get("place", "").strip()
        if not text:
            return None
        point = locate(text)
        if point is None:
            raise ValidationError(
                _("This place could not be found: try a postal code."),
                code="unknown_place",
            )
        return point

    def clean_available_before(self):
        day = self.cleaned_data.get("available_before")
        if day is not None and day < timezone.localdate():
            raise ValidationError(_("Choose a day from today."), code="date_past")
        return day

    @staticmethod
    def base_filters() -> SearchFilters:
        """What an empty search shows: everyone, soonest available first."""
        return SearchFilters(ordering=Ordering.AVAILABILITY)

    def to_filters(self) -> SearchFilters:
        data = self.cleaned_data
        specialty = data.get("specialty")
        return SearchFilters(
            query=data.get("q", ""),
            specialty=specialty.code if specialty else "",
            near=data.get("place"),
            radius_km=data.get("radius_km") or DEFAULT_RADIUS_KM,
            language=data.get("language", ""),
            gender=data.get("gender", ""),
            sectors=tuple(data.get("sector") or ()),
            max_fee=data.get("max_fee"),
            teleconsultation=True if data.get("teleconsultation") else None,
            wheelchair_accessible=True if data.get("wheelchair_accessible") else None,
            available_before=data.get("available_before"),
            verified_only=True,
            ordering=data.get("ordering") or Ordering.RELEVANCE,
        )


class SlotsForm(forms.Form):
    """Which week of free slots a patient looks at, and for what."""

    start = forms.DateField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        label=_("Consultation"),
        choices=ConsultationType.Kind.choices,
        required=False,
    )

    def clean_start(self):
        today = timezone.localdate()
        day = self.cleaned_data.get("start") or today
        return min(max(day, today), today + timedelta(days=365))
