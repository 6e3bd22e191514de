"""Demo outbox: a few notices to the demo staff, so that `make run` shows it working.

They fall due in the minute after seeding, so the beat sweep enqueues them and the
worker sends them through the console backends (see the worker's output and the
admin's *Notifications → Messages*). Seeding never talks to the broker itself.
"""

from datetime import time, timedelta

from django.conf import settings
from django.utils import timezone

from conciergerie.accounts.models import User

from . import services
from .timing import shift_out_of_quiet_hours

DEMO_PHONE = "+33639980000"  # in the mobile range ARCEP keeps for fiction


def seed(*, stdout) -> None:
    soon = timezone.now() + timedelta(minutes=1)
    tomorrow = shift_out_of_quiet_hours(
        timezone.now().replace(hour=22, minute=0, second=0, microsecond=0),
        start=time(21, 0),
        end=time(8, 0),
    )
    count = 0
    for user in User.objects.filter(email__endswith="@conciergerie.local"):
        subject = services.subject_for(user)
        link = f"{settings.SITE_URL}/dashboard/"
        for kind, channel, to, due_at in (
            ("demo-notice", "email", user.email, soon),
            ("demo-notice", "sms", DEMO_PHONE, soon),
            ("demo-morning-notice", "email", user.email, tomorrow),
        ):
            services.schedule_message(
                key=services.message_key(subject=subject, kind=kind, channel=channel),
                subject=subject,
                channel=channel,
                to=to,
                template="notifications/notice",
                context={"first_name": user.first_name, "link": link},
                due_at=due_at,
                language=user.language,
                user=user,
            )
            count += 1
    stdout.write(
        f"  {count} demo notices in the outbox (sent by the worker once due; "
        "console backends print them)."
    )
