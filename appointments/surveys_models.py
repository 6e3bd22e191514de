"""Satisfaction surveys: one per consultation or teleconsultation that took place.

Kept in their own module so that the survey's life (invitation, answer,
moderation, follow-up) reads in one place; `appointments.models` imports it so
that Django registers the model with the app.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from conciergerie.fields import EncryptedTextField
from conciergerie.models import TimeStampedModel


class SatisfactionSurveyQuerySet(models.QuerySet["SatisfactionSurvey"]):
    def answered(self) -> "SatisfactionSurveyQuerySet":
        return self.filter(answered_at__isnull=False)

    def to_moderate(self) -> "SatisfactionSurveyQuerySet":
        return self.answered().filter(
            moderation=SatisfactionSurvey.Moderation.PENDING,
            practitioner_rating__isnull=False,
        )

    def visible_to(self, user) -> "SatisfactionSurveyQuerySet":
        """The team sees every survey; a patient (or guardian) their own."""
        from patients.models import managed_patient_ids

        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser or getattr(user, "is_back_office", False):
            return self
        return self.filter(appointment__patient__in=managed_patient_ids(user))


class SatisfactionSurvey(TimeStampedModel):
    """How the patient found the service and the practitioner, asked once after
    the visit; a low score calls a manager back to the patient."""

    class Moderation(models.TextChoices):
        PENDING = "pending", _("Awaiting moderation")
        PUBLISHED = "published", _("Published as a review")
        REJECTED = "rejected", _("Not published")

    class Via(models.TextChoices):
        LINK = "link", _("link in a message")
        PORTAL = "portal", _("patient portal")

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    appointment = models.OneToOneField(
        "appointments.Appointment",
        models.CASCADE,
        related_name="survey",
        verbose_name=_("appointment"),
    )
    due_at = models.DateTimeField(
        _("invitation due at"),
        help_text=_("The invitation leaves the outbox at this time."),
    )
    sent_at = models.DateTimeField(
        _("sent at"),
        null=True,
        blank=True,
        help_text=_("When the invitation was put in the outbox for its due time."),
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_via = models.CharField(
        _("answered through"), max_length=8, choices=Via.choices, blank=True
    )
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 (very dissatisfied) to 5 (very satisfied)."),
    )
    recommend = models.PositiveSmallIntegerField(
        _("likelihood to recommend"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
        help_text=_("0 to 10: 9–10 promoters, 0–6 detractors (NPS)."),
    )
    practitioner_rating = models.PositiveSmallIntegerField(
        _("practitioner rating"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    # Patients write about their health in free text: encrypted like any note.
    comment = EncryptedTextField(_("comment"), blank=True)
    may_publish_comment = models.BooleanField(
        _("comment may be published"),
        default=False,
        help_text=_("The patient agreed that the comment appear with the review."),
    )
    moderation = models.CharField(
        _("moderation"),
        max_length=10,
        choices=Moderation.choices,
        default=Moderation.PENDING,
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    review = models.OneToOneField(
        "specialists.Review",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey",
        verbose_name=_("review"),
    )
    low_score = models.BooleanField(
        _("low score"),
        default=False,
        help_text=_("Satisfaction or recommendation under the follow-up thresholds."),
    )
    follow_up_task = models.ForeignKey(
        "patients.CareTask",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("follow-up task"),
    )

    objects = SatisfactionSurveyQuerySet.as_manager()

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-due_at"]
        permissions = [
            ("moderate_survey", _("Can publish or reject survey answers as reviews"))
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="appointments_survey_satisfaction_range",
            ),
            models.CheckConstraint(
                condition=Q(recommend__isnull=True)
                | Q(recommend__gte=0, recommend__lte=10),
                name="appointments_survey_recommend_range",
            ),
            models.CheckConstraint(
                condition=Q(practitioner_rating__isnull=True)
                | Q(practitioner_rating__gte=1, practitioner_rating__lte=5),
                name="appointments_survey_rating_range",
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True)
                | Q(satisfaction__isnull=False, recommend__isnull=False),
                name="appointments_survey_answer_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["answered_at"], name="appointments_survey_answered"),
            models.Index(fields=["moderation"], name="appointments_survey_moderation"),
        ]

    def __str__(self) -> str:
        return _("Survey of %(appointment)s") % {"appointment": self.appointment}

    def get_absolute_url(self) -> str:
        return reverse(
            "appointments:survey", kwargs={"public_id": self.appointment.public_id}
        )

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    @property
    def nps_group(self) -> str:
        """promoter (9–10), passive (7–8) or detractor (0–6); empty if unanswered."""
        if self.recommend is None:
            return ""
        if self.recommend >= 9:
            return "promoter"
        if self.recommend >= 7:
            return "passive"
        return "detractor"
