from celery import shared_task

from . import services


@shared_task(
    acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def alert_on_duty_concierge(ticket_id: int) -> None:
    services.alert_on_duty_concierge(ticket_id=ticket_id)
