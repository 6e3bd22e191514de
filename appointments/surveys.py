"""Satisfaction surveys after a consultation or a teleconsultation.

The flow, each step a function below:

1. `queue_survey(appointment)`: the visit took place (`mark_done`, or the end of a
   video session in teleconsult). One survey per appointment; after the commit a
   task puts the invitation in the outbox.
2. `send_survey(survey_id)`: schedules the invitation by email and/or SMS (the
   patient's preference) `SURVEY_DELAY_HOURS` after the visit, out of the patient's
   quiet hours, with a signed link that needs no sign-in.
3. `answer_survey(...)`: once; a low score (`SURVEY_LOW_SATISFACTION`,
   `SURVEY_LOW_RECOMMEND`) opens a call-back task for a manager on the care request.
4. `publish_survey_review` / `reject_survey_review`: a moderator turns the
   practitioner's rating into a directory review (specialists), or keeps it out.
   The comment goes with it only if the patient agreed and the moderator could
   read it: free text may hold health data, which a public review must not.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.notifications import services as notifications
from conciergerie.notifications.timing import shift_out_of_quiet_hours
from patients.models import CareTask
from patients.services import care_team
from specialists import services as directory
from specialists.models import Review

from . import links, outbox, tasks
from .models import Appointment
from .surveys_models import SatisfactionSurvey

TEMPLATE = "appointments/survey/invitation"
KIND = "survey-invitation"
SALT = "appointments.survey"

#: States in which the visit took place, or may have (a video session that ended
#: before anyone recorded the outcome).
_VISITED = (Appointment.State.DONE,)
_MAY_HAVE_VISITED = (Appointment.State.BOOKED, Appointment.State.CONFIRMED)


# --- Signed links ---------------------------------------------------------------------


class _SurveySigner(signing.TimestampSigner):
    """Truncated signature, as for the other links in messages: it fits an SMS."""

    def signature(self, value, key=None) -> str:
        return super().signature(value, key)[: links.SIGNATURE_LENGTH]


def _signer() -> signing.TimestampSigner:
    return _SurveySigner(salt=SALT, sep=".")


def make_token(survey: SatisfactionSurvey) -> str:
    return _signer().sign(links._encode(survey.public_id))


def read_token(token: str) -> uuid.UUID:
    """The survey's public id; raises links.BadLink or links.ExpiredLink."""
    try:
        value = _signer().unsign(
            token, max_age=timedelta(days=settings.SURVEY_LINK_DAYS)
        )
    except signing.SignatureExpired as error:
        raise links.ExpiredLink(SALT) from error
    except signing.BadSignature as error:
        raise links.BadLink(SALT) from error
    if len(value) != links.UUID_LENGTH:
        raise links.BadLink(SALT)
    return links._decode(value)


def survey_url(survey: SatisfactionSurvey) -> str:
    return links.absolute(
        reverse("appointments:survey-link", kwargs={"token": make_token(survey)})
    )


# --- Queue and send -------------------------------------------------------------------


def queue_survey(
    appointment: Appointment, *, now: datetime | None = None
) -> SatisfactionSurvey | None:
    """After a consultation or teleconsultation: one survey, its invitation sent
    `SURVEY_DELAY_HOURS` later; an appointment that did not take place gets none."""
    now = now or timezone.now()
    if appointment.state not in _VISITED and not (
        appointment.state in _MAY_HAVE_VISITED and appointment.starts_at <= now
    ):
        return None
    visited_at = appointment.done_at or min(appointment.ends_at, now)
    with transaction.atomic():
        survey, created = SatisfactionSurvey.objects.get_or_create(
            appointment=appointment,
            defaults={
                "due_at": visited_at + timedelta(hours=settings.SURVEY_DELAY_HOURS)
            },
        )
        if created:
            tasks.send_survey.delay_on_commit(survey.pk)
    return survey


@transaction.atomic
def send_survey(*, survey_id: int) -> int:
    """Put the invitation in the outbox for its due time, once; the number of
    messages scheduled (0 when already sent, answered, or nobody to write to)."""
    survey = (
        SatisfactionSurvey.objects.select_for_update(of=("self",))
        .select_related("appointment__patient__user", "appointment__practitioner")
        .filter(pk=survey_id, sent_at__isnull=True, answered_at__isnull=True)
        .first()
    )
    if survey is None:
        return 0
    appointment = survey.appointment
    patient = appointment.patient
    start, end = outbox.quiet_hours(patient)
    due_at = shift_out_of_quiet_hours(survey.due_at, start=start, end=end)
    subject = notifications.subject_for(survey)
    context = {
        "first_name": outbox._first_name(patient),
        "practitioner": appointment.practitioner.display_name,
        "starts_at": appointment.starts_at,
        "video": appointment.is_video,
        "survey_url": survey_url(survey),
    }
    count = 0
    for recipient in outbox.patient_recipients(patient):
        notifications.schedule_message(
            key=notifications.message_key(
                subject=subject, kind=KIND, channel=recipient.channel
            ),
            subject=subject,
            channel=recipient.channel,
            to=recipient.to,
            template=TEMPLATE,
            context=context,
            due_at=due_at,
            expires_at=due_at + timedelta(days=settings.SURVEY_LINK_DAYS),
            language=recipient.language,
            user=recipient.user,
        )
        count += 1
    if count:
        survey.sent_at = due_at
        survey.save(update_fields=["sent_at", "updated_at"])
    return count


# --- Answer ---------------------------------------------------------------------------


def is_low_score(*, satisfaction: int, recommend: int) -> bool:
    return (
        satisfaction <= settings.SURVEY_LOW_SATISFACTION
        or recommend <= settings.SURVEY_LOW_RECOMMEND
    )


@transaction.atomic
def answer_survey(
    *,
    survey: SatisfactionSurvey,
    satisfaction: int,
    recommend: int,
    practitioner_rating: int | None = None,
    comment: str = "",
    may_publish_comment: bool = False,
    via: str = SatisfactionSurvey.Via.LINK,
    now: datetime | None = None,
) -> SatisfactionSurvey:
    """Record the patient's answer, once; a low score calls a manager in."""
    now = now or timezone.now()
    survey = SatisfactionSurvey.objects.select_for_update().get(pk=survey.pk)
    if survey.is_answered:
        raise ValidationError(
            _("This survey has already been answered. Thank you!"),
            code="already_answered",
        )
    survey.satisfaction = satisfaction
    survey.recommend = recommend
    survey.practitioner_rating = practitioner_rating
    survey.comment = (comment or "").strip()
    survey.may_publish_comment = bool(may_publish_comment and survey.comment)
    survey.answered_at = now
    survey.answered_via = via
    survey.low_score = is_low_score(satisfaction=satisfaction, recommend=recommend)
    survey.full_clean(exclude=["appointment", "review", "follow_up_task"])
    survey.save()
    # The invitation may still be waiting (the portal was quicker): no reminder of
    # a survey already answered.
    notifications.cancel_messages(
        subject=notifications.subject_for(survey), templates=[TEMPLATE]
    )
    if survey.low_score:
        task = open_follow_up(survey=survey, now=now)
        if task is not None:
            survey.follow_up_task = task
            survey.save(update_fields=["follow_up_task", "updated_at"])
    return survey


def follow_up_manager() -> User | None:
    """The active manager with the fewest open tasks (the call back is theirs)."""
    return (
        User.objects.with_role(Role.MANAGER)
        .filter(is_active=True, is_staff=True)
        .annotate(
            open_tasks=Count(
                "care_tasks", filter=Q(care_tasks__status__in=CareTask.OPEN_STATUSES)
            )
        )
        .order_by("open_tasks", "pk")
        .first()
    )


def open_follow_up(
    *, survey: SatisfactionSurvey, now: datetime | None = None
) -> CareTask | None:
    """A call-back task for a manager on the visit's care request.

    A visit outside any open request has nowhere to hang a task: the survey stays
    flagged `low_score` and the admin's "Low score, no follow-up" filter lists it.
    """
    now = now or timezone.now()
    appointment = survey.appointment
    care_request = appointment.care_request
    manager = follow_up_manager()
    if care_request is None or not care_request.is_open or manager is None:
        return None
    details = _(
        "Satisfaction %(satisfaction)s/5, likelihood to recommend %(recommend)s/10, "
        "practitioner %(rating)s/5. Call the patient back and record the outcome."
    ) % {
        "satisfaction": survey.satisfaction,
        "recommend": survey.recommend,
        "rating": survey.practitioner_rating or "–",
    }
    return care_team.add_care_task(
        care_request=care_request,
        by=manager,
        kind=CareTask.Kind.FOLLOW_UP_CALL,
        title=_("Call back after a low satisfaction score"),
        details=details,
        owner=manager,
        due_at=now + timedelta(days=1),
    )


# --- Moderation -----------------------------------------------------------------------


def review_reference(survey: SatisfactionSurvey) -> str:
    return f"survey:{survey.public_id}"


def may_read_comment(user) -> bool:
    """The comment may hold health data: medical staff read it (audited)."""
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.has_perm("patients.view_medicalprofile"))
    )


@transaction.atomic
def publish_survey_review(
    *, survey: SatisfactionSurvey, by: User, now: datetime | None = None
) -> SatisfactionSurvey:
    """The practitioner's rating becomes a published review, once."""
    survey = (
        SatisfactionSurvey.objects.select_for_update(of=("self",))
        .select_related("appointment__practitioner", "appointment__patient")
        .get(pk=survey.pk)
    )
    if survey.moderation == SatisfactionSurvey.Moderation.PUBLISHED:
        return survey
    if not survey.is_answered or survey.practitioner_rating is None:
        raise ValidationError(
            _("Only an answer that rates the practitioner can become a review."),
            code="nothing_to_publish",
        )
    reference = review_reference(survey)
    review = Review.objects.filter(source_reference=reference).first()
    if review is None:
        with_comment = survey.may_publish_comment and may_read_comment(by)
        review = directory.submit_review(
            practitioner=survey.appointment.practitioner,
            rating=survey.practitioner_rating,
            comment=survey.comment if with_comment else "",
            author=survey.appointment.patient.user,
            source_reference=reference,
        )
    if review.state != Review.State.PUBLISHED:
        review = directory.publish_review(review=review, by=by)
    survey.review = review
    survey.moderation = SatisfactionSurvey.Moderation.PUBLISHED
    survey.moderated_by = by
    survey.moderated_at = now or timezone.now()
    survey.save(
        update_fields=[
            "review",
            "moderation",
            "moderated_by",
            "moderated_at",
            "updated_at",
        ]
    )
    return survey


@transaction.atomic
def reject_survey_review(
    *, survey: SatisfactionSurvey, by: User, reason: str, now: datetime | None = None
) -> SatisfactionSurvey:
    """Keep an answer out of the directory; a review already published is withdrawn."""
    survey = SatisfactionSurvey.objects.select_for_update().get(pk=survey.pk)
    if not reason.strip():
        raise ValidationError(
            _("Say why the answer is not published."), code="reason_required"
        )
    if survey.moderation == SatisfactionSurvey.Moderation.REJECTED:
        return survey
    if survey.review_id is not None:
        review = Review.objects.get(pk=survey.review_id)
        if review.state != Review.State.REJECTED:
            directory.reject_review(review=review, by=by, reason=reason)
    survey.moderation = SatisfactionSurvey.Moderation.REJECTED
    survey.moderated_by = by
    survey.moderated_at = now or timezone.now()
    survey.save(
        update_fields=["moderation", "moderated_by", "moderated_at", "updated_at"]
    )
    return survey
