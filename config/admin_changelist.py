"""A changelist that answers a hostile filter value as a bad lookup, not a server error.

Django turns a bad `?field__exact=` into IncorrectLookupParameters (the changelist reloads with
`?e=1`), but not a date-hierarchy year past 9999 (`datetime()` raises OverflowError) nor a
value a custom list filter passes to the database unchecked (ValueError). Admins with a date
hierarchy or custom filters use `LookupSafeChangeListMixin`; tests/security/test_hostile_input.py
walks every registered admin's filters, so one that needs it and lacks it fails there.
"""

from __future__ import annotations

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError


class LookupSafeChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        try:
            return super().get_queryset(request, exclude_parameters)
        except (ValueError, OverflowError, ValidationError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class LookupSafeChangeListMixin:
    def get_changelist(self, request, **kwargs):
        return LookupSafeChangeList
