"""Admin screens for rows that belong to a campaign (actions, updates, bills, resources):
organizers see and edit only their own organization's, and another organization's row by URL is
a 404, exactly like one that does not exist. Platform staff see everything."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from campaigns.selectors import campaigns_editable_by, user_can_edit_campaign


class CampaignScopedAdminMixin:
    """Put before `admin.ModelAdmin` on a ModelAdmin whose model has a `campaign` foreign key."""

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(campaign__in=campaigns_editable_by(request.user))
            .select_related("campaign")
        )

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("Nothing with that id that you can edit."))
        return obj

    def _may_edit(self, request, obj) -> bool:
        return obj is None or user_can_edit_campaign(request.user, obj.campaign)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "campaign":
            kwargs["queryset"] = campaigns_editable_by(request.user).order_by("title")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
