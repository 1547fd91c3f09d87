"""Admin hardening that belongs to the site rather than to one app (included in config/urls.py
ahead of `admin.site.urls`, so these two routes win).

- /admin/login/ counts failed attempts in allauth's `login_failed` limits, in the same buckets as
  /accounts/login/ (per client address and per email address, ACCOUNT_RATE_LIMITS), so a
  password cannot be guessed faster through the admin than through the public login. Over the
  limit the form says so, with status 429, and checks no password at all.
- /admin/r/<type>/<id>/ ("View on site") answers only for objects the user may see in the admin.
  Django's own view redirects for any id, which told an organizer the address (the slug) of
  another organization's draft campaign.
"""

from __future__ import annotations

from allauth.core import ratelimit
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path

TOO_MANY_ATTEMPTS = "Too many failed login attempts. Try again later."
TOO_MANY_CODE = "too_many_login_attempts"


def _login_key(request, email: str) -> str:
    # The key allauth's adapter uses for /accounts/login/, so both logins share one count.
    return f"{get_current_site(request).domain}:{email.strip().lower()}"


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, refusing to check a password once the failure limit is hit."""

    def clean(self):
        key = _login_key(self.request, self.data.get("username", ""))
        if not ratelimit.consume(self.request, action="login_failed", key=key, dry_run=True):
            raise ValidationError(TOO_MANY_ATTEMPTS, code=TOO_MANY_CODE)
        try:
            return super().clean()
        except ValidationError:
            ratelimit.consume(self.request, action="login_failed", key=key)
            raise


admin.site.login_form = ThrottledAdminAuthenticationForm


def admin_login(request):
    """The admin's own login view with the throttled form; 429 when the limit refused it."""
    response = admin.site.login(request)
    form = (getattr(response, "context_data", None) or {}).get("form")
    if form is not None and form.is_bound and form.has_error("__all__", TOO_MANY_CODE):
        response.status_code = 429
    return response


def view_on_site(request, content_type_id: int, object_id: str):
    """Django's "View on site" redirect, for objects this user may see in the admin only."""
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist as exc:
        raise Http404("No such object.") from exc
    model_admin = admin.site._registry.get(model)
    obj = None
    if model_admin is not None:
        try:
            obj = model_admin.get_object(request, unquote(object_id))
        except (Http404, ValidationError, ValueError):
            obj = None
    if obj is None or not model_admin.has_view_or_change_permission(request, obj):
        raise Http404("No such object.")
    return shortcut(request, content_type_id, object_id)


urlpatterns = [
    path("login/", admin_login),
    path("r/<int:content_type_id>/<path:object_id>/", admin.site.admin_view(view_on_site)),
]
