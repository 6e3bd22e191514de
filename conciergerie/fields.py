"""Model fields whose values are encrypted at rest.

The column holds a Fernet token (text); the model attribute holds the clear value.
Such a column cannot be searched, ordered or compared in SQL: the only lookup
allowed is `isnull`. Values are encrypted with the newest key of
`FIELD_ENCRYPTION_KEYS` on every write; `rotate_encryption_keys` re-encrypts old
rows. django-simple-history copies these fields as they are, so the history
tables stay encrypted too.
"""

import json
from collections.abc import Iterator
from typing import Any

from django import forms
from django.apps import apps
from django.core import validators
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from conciergerie import crypto


class EncryptedFieldMixin:
    """Shared behaviour: no SQL lookups on ciphertext except `isnull`."""

    encrypted = True

    def get_lookup(self, lookup_name: str):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)  # type: ignore[misc]

    def get_transform(self, name: str):
        return None


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    """Free text (medical history, allergies…) stored as a Fernet token."""

    description = _("Text encrypted at rest")

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        return crypto.decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt_text(value)


class EncryptedCharField(EncryptedTextField):
    """A short encrypted value (an identifier, a label) edited on one line."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def formfield(self, **kwargs):
        # Field.formfield, not TextField's: a one-line input, not a textarea.
        return models.Field.formfield(self, **{"max_length": self.max_length, **kwargs})


class EncryptedJSONField(EncryptedFieldMixin, models.Field):
    """A JSON document (structured measurements, lists) stored as a Fernet token."""

    description = _("JSON encrypted at rest")
    empty_strings_allowed = False

    def __init__(self, *args, encoder=DjangoJSONEncoder, **kwargs):
        self.encoder = encoder
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not DjangoJSONEncoder:
            kwargs["encoder"] = self.encoder
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        return json.loads(crypto.decrypt_text(value))

    def get_prep_value(self, value):
        if value is None:
            return None
        return crypto.encrypt_text(
            json.dumps(value, cls=self.encoder, ensure_ascii=False, sort_keys=True)
        )

    def value_to_string(self, obj) -> str:
        return json.dumps(self.value_from_object(obj), cls=self.encoder)

    def formfield(self, **kwargs):
        return super().formfield(
            **{"form_class": forms.JSONField, "encoder": self.encoder, **kwargs}
        )


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[models.Field]]]:
    """Every concrete model (history tables included) with its encrypted columns."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [
            field
            for field in model._meta.concrete_fields
            if getattr(field, "encrypted", False)
        ]
        if fields:
            yield model, fields


def is_ciphertext(value: Any) -> bool:
    """True for a stored Fernet token (used by tests and the rotation command)."""
    return isinstance(value, str) and value.startswith(crypto.TOKEN_PREFIX)
