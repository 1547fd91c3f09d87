"""API requests carry a key, never a session: `OSDI-API-Token: <key>` (as Action Network's OSDI
API) or `Authorization: Bearer <key>`. A logged-in admin's cookie grants nothing here."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.services import api_key_authenticate


class ApiPrincipal:
    """Who is asking: an organization, through one of its keys."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, key):
        self.key = key
        self.organization = key.organization
        self.pk = None

    def __str__(self) -> str:
        return f"api key {self.key.name}"


def raw_key_from(request) -> str:
    token = request.META.get("HTTP_OSDI_API_TOKEN", "")
    if token:
        return token
    header = authentication.get_authorization_header(request).decode(errors="replace")
    scheme, _sep, value = header.partition(" ")
    return value if scheme.lower() == "bearer" else ""


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = raw_key_from(request)
        if not raw:
            return None  # → 401 with WWW-Authenticate
        key = api_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid or was revoked."))
        return ApiPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "OSDI-API-Token"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "OSDI-API-Token"}
