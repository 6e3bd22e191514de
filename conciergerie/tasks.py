"""Project-wide periodic and diagnostic tasks."""

from celery import shared_task
from django.core import management
from django.utils import timezone


# The one task whose answer is read: it proves a worker is up.
@shared_task(ignore_result=False)
def ping() -> dict[str, str]:
    """Answer with the worker's clock: proves the broker and a worker are alive."""
    return {"pong": timezone.now().isoformat()}


@shared_task
def clear_expired_sessions() -> None:
    management.call_command("clearsessions")
