"""Celery entry points of the partners app: thin, ids only."""

from celery import shared_task

from . import idempotency


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    """Forget the kept responses of Idempotency-Keys past their 24 hours (hourly)."""
    return idempotency.purge_expired()
