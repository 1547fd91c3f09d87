"""The API's answers to errors.

An id this key cannot reach — another organization's record, a person who gave this
organization no consent, a draft, an id that exists nowhere — is a 403 with the same sentence in
every case: "across organizations" is refused, and nothing says whether the record exists.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = PermissionDenied(
            _("This key reaches only its own organization's records, and this is not one of them.")
        )
    return exception_handler(exc, context)
