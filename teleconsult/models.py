"""Teleconsultation support: technical help tickets raised from the device check."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from conciergerie.models import TimeStampedModel


class SupportTicketQuerySet(models.QuerySet):
    def visible_to(self, user) -> "SupportTicketQuerySet":
        if user.is_staff:
            return self
        return self.filter(opened_by=user)

    def open(self) -> "SupportTicketQuerySet":
        return self.filter(handled_at__isnull=True)


class SupportTicket(TimeStampedModel):
    """A patient or practitioner needs technical help before a teleconsultation."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="support_tickets",
        verbose_name=_("opened by"),
    )
    message = models.TextField(_("message"), blank=True)
    # Camera, microphone, speaker and connection results, as the browser saw them.
    check_results = models.JSONField(
        _("device check results"), default=dict, blank=True
    )
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)

    objects = SupportTicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("technical support ticket")
        verbose_name_plural = _("technical support tickets")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Support for %(user)s") % {"user": self.opened_by}

    @property
    def failed_checks(self) -> list[str]:
        return sorted(
            name
            for name, result in self.check_results.items()
            if isinstance(result, dict) and result.get("status") == "fail"
        )
