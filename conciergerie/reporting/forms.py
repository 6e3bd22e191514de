"""The dashboard's filters: a period, a specialty, a concierge."""

from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import STAFF_ROLES
from specialists.models import Specialty

from .kpis import Filters, default_filters

#: Longer periods would read years of rows for a page meant for a glance.
MAX_PERIOD_DAYS = 3 * 366


#: Browsers' date pickers read and write ISO dates, whatever the page's language.
ISO_DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class DashboardFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=ISO_DATE)
    end = forms.DateField(label=_("To (included)"), widget=ISO_DATE)
    specialty = forms.ChoiceField(label=_("Specialty"), required=False)
    concierge = forms.TypedChoiceField(
        label=_("Concierge"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, data=None, *, today: datetime.date | None = None, **kwargs):
        defaults = default_filters(today=today)
        initial = {"start": defaults.start, "end": defaults.end}
        if data is not None and not any(data.get(name) for name in self.base_fields):
            data = None  # a bare visit: the default period, no error shown
        super().__init__(data, initial=initial, **kwargs)
        self.defaults = defaults
        specialties = [
            (specialty.code, specialty.label)
            for specialty in Specialty.objects.filter(is_active=True).order_by("name")
        ]
        self.fields["specialty"].choices = [  # type: ignore[attr-defined]
            ("", _("All specialties")),
            *specialties,
        ]
        concierges = (
            User.objects.filter(is_staff=True, groups__name__in=STAFF_ROLES)
            .distinct()
            .order_by("first_name", "last_name", "email")
        )
        self.fields["concierge"].choices = [  # type: ignore[attr-defined]
            ("", _("Every concierge")),
            *[(user.pk, user.get_full_name() or user.email) for user in concierges],
        ]

    def clean(self):
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(
                    _("The end of the period must not come before its start."),
                    code="period_reversed",
                )
            if (end - start).days > MAX_PERIOD_DAYS:
                raise forms.ValidationError(
                    _("Choose a period of three years at most."),
                    code="period_too_long",
                )
        return cleaned

    def filters(self) -> Filters:
        """The filters asked for, or the default period while the form is invalid."""
        if not self.is_bound or not self.is_valid():
            return self.defaults
        data = self.cleaned_data
        return Filters(
            start=data["start"],
            end=data["end"],
            specialty=data.get("specialty") or "",
            concierge_id=data.get("concierge"),
        )
