from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from api.models import ApiKey


class ApiKeyScope(permissions.BasePermission):
    """Any live key reads; only a read/write key writes."""

    message = _("This API key may only read. Make a read/write key to write.")

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return key.scope == ApiKey.Scope.READ_WRITE
