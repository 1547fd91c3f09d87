"""Bounds on the admin's inline formsets.

Django builds as many inline forms as a POST's management form asks for, up to max_num + 1,000
when nothing else is said: a forged TOTAL_FORMS made one organizer's save of a campaign build
some 7,000 forms (~9 s of CPU). Every editable inline here takes BoundedInlineMixin: a POST
asking for more rows than the bound is a form error ("Please submit at most … forms"). A
read-only history inline takes ReadOnlyRowsFormSet: it builds the rows it shows, whatever the
POST says (a long history must never make a save fail, so it has no bound).
"""

from __future__ import annotations

from django.forms.models import BaseInlineFormSet

# More rows than a person edits on one page (a coalition of a few hundred organizations).
INLINE_MAX_ROWS = 250


class BoundedInlineMixin:
    """For an InlineModelAdmin: at most `max_num` rows (INLINE_MAX_ROWS unless the inline says
    fewer), and never more forms built than that."""

    max_num = INLINE_MAX_ROWS

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("absolute_max", self.get_max_num(request, obj) or INLINE_MAX_ROWS)
        return super().get_formset(request, obj, **kwargs)


class ReadOnlyRowsFormSet(BaseInlineFormSet):
    """For an inline that shows rows and takes none: as many forms as rows, never the count a
    POST's management form claims."""

    def initial_form_count(self):
        return len(self.get_queryset())

    def total_form_count(self):
        return self.initial_form_count()
