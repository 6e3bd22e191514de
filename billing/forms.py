from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Payment


class RefuseQuoteForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you refuse this quote? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PeriodForm(forms.Form):
    """A period of issue dates, both days included."""

    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            raise forms.ValidationError(
                _("The end of the period comes before its start."),
                code="period_reversed",
            )
        return cleaned


class ExportForm(PeriodForm):
    KINDS = [
        ("invoices", _("Invoices")),
        ("credit_notes", _("Credit notes")),
        ("payments", _("Payments and refunds")),
    ]
    kind = forms.ChoiceField(label=_("Records"), choices=KINDS)


class PaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=12, decimal_places=2, min_value=0.01
    )
    method = forms.ChoiceField(label=_("Method"), choices=Payment.Method.choices)
    received_on = forms.DateField(
        label=_("Received on"),
        initial=date.today,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class CreditNoteForm(forms.Form):
    """A credit note: the whole remainder, or chosen amounts per invoice line."""

    reason = forms.CharField(label=_("Reason"), max_length=300)
    full = forms.BooleanField(
        label=_("Credit everything that is left of the invoice"),
        required=False,
        initial=True,
    )

    def __init__(self, *args, invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice_lines = list(invoice.lines.all())
        for line in self.invoice_lines:
            self.fields[f"line_{line.pk}"] = forms.DecimalField(
                label=line.description,
                required=False,
                max_digits=12,
                decimal_places=2,
                min_value=0,
                help_text=_("Amount excl. VAT to credit (line total %(amount)s €)")
                % {"amount": line.net_amount},
            )

    def credited_amounts(self):
        return [
            (line, self.cleaned_data[f"line_{line.pk}"])
            for line in self.invoice_lines
            if self.cleaned_data.get(f"line_{line.pk}")
        ]

    def clean(self):
        cleaned = super().clean() or {}
        if not cleaned.get("full") and not self.credited_amounts():
            raise forms.ValidationError(
                _("Choose what to credit: everything, or an amount on some lines."),
                code="nothing_to_credit",
            )
        return cleaned
