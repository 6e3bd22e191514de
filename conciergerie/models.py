"""Abstract models and model helpers shared by every app."""

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


def save_with_random_reference(
    instance: models.Model,
    save: Callable[..., None],
    draw: Callable[[], str],
    /,
    *args: Any,
    field: str = "reference",
    attempts: int = 10,
    **kwargs: Any,
) -> None:
    """Save a row, first drawing its short random public reference if it has none.

    `save` is the model's own `super().save`; `draw` returns a new reference.
    The unique index decides between two concurrent rows: on the rare collision
    the reference is drawn again, inside a savepoint so that the caller's
    transaction survives. Any other integrity error, or the last failed draw,
    is raised with the reference left empty.
    """
    if getattr(instance, field):
        save(*args, **kwargs)
        return
    for attempt in range(attempts):
        setattr(instance, field, draw())
        try:
            with transaction.atomic():
                save(*args, **kwargs)
        except IntegrityError as error:
            if field not in str(error) or attempt == attempts - 1:
                setattr(instance, field, "")
                raise
            kwargs.pop("force_insert", None)
            instance._state.adding = True
        else:
            return
