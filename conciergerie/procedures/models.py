"""Procedures library: protocols, checklists and training notes for the staff.

A procedure is a title and a kind; its text lives in numbered versions. Editing
publishes a new version and keeps the old ones, so that what a member of staff
acknowledged is the exact text they read. An acknowledgement is per person and
per version: a new version of the emergency protocol must be read again.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from conciergerie.models import TimeStampedModel


class Procedure(TimeStampedModel):
    class Kind(models.TextChoices):
        PROTOCOL = "protocol", _("protocol")
        CHECKLIST = "checklist", _("checklist")
        TRAINING = "training", _("training note")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(_("short name"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    current_version = models.OneToOneField(
        "ProcedureVersion",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current version"),
    )
    archived = models.BooleanField(
        _("archived"),
        default=False,
        help_text=_("No longer in force: nobody is asked to read it."),
    )

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["kind", "title"]
        permissions = [
            ("acknowledge_procedure", _("Can acknowledge having read a procedure"))
        ]

    def __str__(self) -> str:
        return self.title


class ProcedureVersion(models.Model):
    """One published text of a procedure; never changed once published."""

    procedure = models.ForeignKey(
        Procedure,
        models.CASCADE,
        related_name="versions",
        verbose_name=_("procedure"),
    )
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    change_note = models.CharField(
        _("what changed"), max_length=300, blank=True, default=""
    )
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        verbose_name = _("procedure version")
        verbose_name_plural = _("procedure versions")
        ordering = ["procedure", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "number"], name="procedures_version_unique"
            )
        ]

    def __str__(self) -> str:
        return _("%(title)s, version %(number)d") % {
            "title": self.title,
            "number": self.number,
        }


class Acknowledgement(models.Model):
    """A member of staff read this version of a procedure."""

    version = models.ForeignKey(
        ProcedureVersion,
        models.CASCADE,
        related_name="acknowledgements",
        verbose_name=_("version"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="procedure_acknowledgements",
        verbose_name=_("staff member"),
    )
    acknowledged_at = models.DateTimeField(_("read on"))

    class Meta:
        verbose_name = _("read acknowledgement")
        verbose_name_plural = _("read acknowledgements")
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "user"], name="procedures_ack_once_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.version}"
