"""Rate limits per partner organisation: every application of a partner shares one.

The rate is the organisation's own (`Organisation.throttle_rate`) or
`API_THROTTLE_PARTNER` (600/min by default); a changed rate applies
within a minute. Over it, the API answers 429 with
`Retry-After` (seconds) and the usual error body, code `throttled`.
"""

from django.conf import settings
from django.core.cache import cache
from oauth2_provider.models import AccessToken
from rest_framework.throttling import SimpleRateThrottle

from .models import Organisation

RATE_CACHE_SECONDS = 60


def organisation_rate(user_id: int) -> str:
    """The organisation's own rate ("" for the default), cached for a minute: the
    throttle runs on every request and must not cost a query each time."""
    rate = cache.get_or_set(
        f"partners:rate:{user_id}",
        lambda: (
            Organisation.objects.filter(service_user_id=user_id)
            .values_list("throttle_rate", flat=True)
            .first()
            or ""
        ),
        RATE_CACHE_SECONDS,
    )
    return rate or ""


class PartnerRateThrottle(SimpleRateThrottle):
    scope = "partner"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_PARTNER

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.auth, AccessToken):
            return True  # sessions are throttled per user by UserRateThrottle
        self.rate = organisation_rate(request.user.pk) or self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        # All applications of an organisation act as its one service account.
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
