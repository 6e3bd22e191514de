"""Writing procedures (managers) and acknowledging them (every member of staff)."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import STAFF_ROLES

from .models import Acknowledgement, Procedure, ProcedureVersion


def _require(user: User, permission: str) -> None:
    if not (user.is_active and user.has_perm(permission)):
        raise PermissionDenied


def staff_members() -> QuerySet[User]:
    """Who must read the procedures: the active back-office staff."""
    return (
        User.objects.filter(
            is_active=True, is_staff=True, groups__name__in=list(STAFF_ROLES)
        )
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )


def _new_version(
    procedure: Procedure, *, title: str, body: str, change_note: str, by, now
) -> ProcedureVersion:
    last = procedure.versions.order_by("-number").values_list("number", flat=True)
    version = ProcedureVersion(
        procedure=procedure,
        number=(last.first() or 0) + 1,
        title=title,
        body=body,
        change_note=change_note.strip(),
        published_at=now,
        published_by=by,
    )
    version.full_clean(exclude=["procedure"])
    version.save()
    procedure.current_version = version
    procedure.title = title
    procedure.save(update_fields=["current_version", "title", "updated_at"])
    return version


@transaction.atomic
def create_procedure(
    *,
    kind: str,
    title: str,
    body: str,
    by: User,
    slug: str = "",
    now: datetime | None = None,
) -> Procedure:
    """A manager writes a new procedure; its first version is published at once."""
    _require(by, "procedures.add_procedure")
    title, body = (title or "").strip(), (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the text of the procedure.")})
    procedure = Procedure(kind=kind, title=title, slug=slug or slugify(title)[:80])
    procedure.full_clean(exclude=["current_version"])
    try:
        with transaction.atomic():
            procedure.save()
    except IntegrityError as error:
        raise ValidationError(
            {"slug": _("Another procedure already has this short name.")}
        ) from error
    _new_version(
        procedure,
        title=title,
        body=body,
        change_note="",
        by=by,
        now=now or timezone.now(),
    )
    return procedure


@transaction.atomic
def publish_version(
    *,
    procedure: Procedure,
    title: str,
    body: str,
    by: User,
    change_note: str = "",
    now: datetime | None = None,
) -> ProcedureVersion:
    """Every edit publishes a new version; the old ones stay, and everybody is
    asked to read the new one. An edit that changes nothing publishes nothing."""
    _require(by, "procedures.change_procedure")
    procedure = Procedure.objects.select_for_update().get(pk=procedure.pk)
    title, body = (title or "").strip(), (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the text of the procedure.")})
    current = procedure.current_version
    if current is not None and current.title == title and current.body == body:
        return current
    return _new_version(
        procedure,
        title=title,
        body=body,
        change_note=change_note,
        by=by,
        now=now or timezone.now(),
    )


@transaction.atomic
def acknowledge(
    *, procedure: Procedure, user: User, now: datetime | None = None
) -> Acknowledgement:
    """The staff member read the version in force; reading it twice counts once."""
    _require(user, "procedures.acknowledge_procedure")
    version = procedure.current_version
    if version is None or procedure.archived:
        raise ValidationError(_("This procedure is not in force."), code="not_in_force")
    acknowledgement, _created = Acknowledgement.objects.get_or_create(
        version=version, user=user, defaults={"acknowledged_at": now or timezone.now()}
    )
    return acknowledgement


def in_force() -> QuerySet[Procedure]:
    return Procedure.objects.filter(
        archived=False, current_version__isnull=False
    ).select_related("current_version")


def pending_for(user: User) -> QuerySet[Procedure]:
    """The procedures in force whose current version this person has not read."""
    read = Acknowledgement.objects.filter(
        version=OuterRef("current_version"), user=user
    )
    return in_force().exclude(Exists(read))


def pending_acknowledgements() -> list[tuple[Procedure, list[User]]]:
    """For managers: each procedure in force and who has not read its version."""
    staff = list(staff_members())
    read = set(
        Acknowledgement.objects.filter(
            version__in=in_force().values("current_version")
        ).values_list("version_id", "user_id")
    )
    rows = []
    for procedure in in_force():
        missing = [
            user
            for user in staff
            if (procedure.current_version_id, user.pk) not in read
        ]
        if missing:
            rows.append((procedure, missing))
    return rows
