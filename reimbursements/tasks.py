"""Celery entry points of the reimbursements app: thin, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def remind_procedure_deadlines() -> int:
    return services.remind_procedure_deadlines()


@shared_task(acks_late=True)
def chase_unanswered_claims() -> int:
    return services.chase_unanswered_claims()
