"""Per-key rate limit: a fixed one-minute window counted in the shared cache (Redis in
production, so every web process counts together) with the project's `throttle_hit`."""

from __future__ import annotations

import math
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from api.models import ApiKey
from supporters.throttle import throttle_hit

WINDOW_SECONDS = 60


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True  # no key: authentication answers 401 first
        limit = int(settings.API_RATE_LIMIT_PER_MINUTE)
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        self._retry_after = (window + 1) * WINDOW_SECONDS - now
        return throttle_hit(
            key=f"api:{key.pk}:{window}", limit=limit, window_seconds=WINDOW_SECONDS + 5
        )

    def wait(self) -> float:
        return max(1, math.ceil(getattr(self, "_retry_after", WINDOW_SECONDS)))
