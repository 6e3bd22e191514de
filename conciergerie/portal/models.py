"""One row per signed-in browser, so that a person can see where their account is
open and sign the other places out. Django's session table has no user column."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserSessionQuerySet(models.QuerySet):
    def open(self) -> "UserSessionQuerySet":
        """Sessions not signed out whose session row still lives (not expired)."""
        from django.contrib.sessions.models import Session

        return self.filter(
            ended_at__isnull=True,
            session_key__in=Session.objects.filter(
                expire_date__gt=timezone.now()
            ).values("session_key"),
        )


class UserSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="portal_sessions",
        verbose_name=_("account"),
    )
    session_key = models.CharField(max_length=40, db_index=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    ended_at = models.DateTimeField(_("signed out at"), null=True, blank=True)

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")
        ordering = ["-last_seen_at"]
        indexes = [
            models.Index(
                fields=["user", "-last_seen_at"],
                condition=models.Q(ended_at__isnull=True),
                name="portal_open_sessions_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d %H:%M}"
