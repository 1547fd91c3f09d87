"""Settlement in the admin (placeholder replaced below in this session)."""

from __future__ import annotations

from django.contrib import admin

from pledges.models import CampaignSettlement


@admin.register(CampaignSettlement)
class CampaignSettlementAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "deadline")
