"""The access log: who read or changed which health data, when, from where and why.

Rows are append-only. The application never changes or deletes them (the admin is
read-only) and a PostgreSQL trigger refuses UPDATE and DELETE on the table. Each
row also carries the SHA-256 of the previous row's hash and of its own canonical
content, so that a row changed or removed behind the database's back breaks the
chain (`manage.py verify_audit_chain`).

The log names patients by their public reference, not by a foreign key: it sits
below the patients app, and it must outlive a purged patient file.
"""

import hashlib
import json
from datetime import UTC

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AccessLogQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AccessLogQuerySet":
        """Auditors see everything; anyone else sees their own actions only."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser or user.has_perm("audit.view_accesslog"):
            return self
        return self.filter(actor=user)

    def for_patients(self, references) -> "AccessLogQuerySet":
        return self.filter(patient_ref__in=references)

    def in_chain_order(self) -> "AccessLogQuerySet":
        return self.order_by("pk")


class AccessLog(models.Model):
    class Action(models.TextChoices):
        READ = "read", _("consulted")
        DOWNLOAD = "download", _("downloaded")
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("deleted")
        EXPORT = "export", _("exported")
        SHARE = "share", _("shared")
        REVOKE = "revoke", _("revoked a sharing")
        BREAK_GLASS = "break_glass", _("opened outside their assignment")
        MERGE = "merge", _("merged")
        ERASE = "erase", _("pseudonymised")
        PURGE = "purge", _("purged")

    class Face(models.TextChoices):
        PORTAL = "portal", _("patient portal")
        ADMIN = "admin", _("back-office")
        API = "api", _("partner API")
        SYSTEM = "system", _("automatic task")

    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="access_logs",
        verbose_name=_("who"),
    )
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    actor_label = models.CharField(_("name at the time"), max_length=255, blank=True)
    patient_ref = models.CharField(
        _("patient reference"), max_length=16, blank=True, db_index=True
    )
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    face = models.CharField(_("through"), max_length=8, choices=Face.choices)
    reason = models.TextField(_("reason"), blank=True)
    ip_address = models.CharField(_("IP address"), max_length=45, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    previous_hash = models.CharField(_("previous hash"), max_length=64)
    row_hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["patient_ref", "-occurred_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(row_hash=GENESIS_HASH), name="audit_row_hash_not_genesis"
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def canonical_content(self) -> bytes:
        """The exact bytes the row hash covers (everything but the hash itself)."""
        occurred_at = self.occurred_at.astimezone(UTC)
        content = {
            "occurred_at": occurred_at.isoformat(timespec="microseconds"),
            "actor": self.actor_id,
            "actor_role": self.actor_role,
            "actor_label": self.actor_label,
            "patient_ref": self.patient_ref,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "action": self.action,
            "face": self.face,
            "reason": self.reason,
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "previous_hash": self.previous_hash,
        }
        return json.dumps(
            content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")

    def compute_hash(self) -> str:
        digest = hashlib.sha256()
        digest.update(self.previous_hash.encode("ascii"))
        digest.update(self.canonical_content())
        return digest.hexdigest()
