from celery import shared_task

from . import report


@shared_task(acks_late=True)
def send_monthly_report() -> int:
    """Beat, on the first of each month: last month's report to the managers."""
    return report.send_monthly_report()
