"""Organizer and staff screens for people: accounts, supporters (with CSV export and a daily
chart) and milestones.

Organizers (staff users who are members of an Organization) see only the supporters of their
organizations' campaigns, read-only; platform staff (superusers and the "Platform staff"
group) see everyone. Supporter rows are never deleted
here: leaving and account deletion go through the services, which keep the counts right.
"""

from __future__ import annotations

import csv

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone

from campaigns.admin_saves import OwnFieldsSaveMixin
from campaigns.selectors import user_is_organizer, user_is_platform_staff
from config.admin_changelist import LookupSafeChangeListMixin
from supporters.models import Milestone, Supporter, User
from supporters.selectors import (
    campaigns_visible_to,
    daily_signups,
    supporters_for_org_export,
    supporters_visible_to,
)

CSV_COLUMNS = (
    ("name", "Name"),
    ("email", "Email"),
    ("postal_code", "ZIP/postal code"),
    ("phone", "Phone"),
    ("tier", "Tier"),
    ("confirmed_at", "Confirmed at (UTC)"),
    ("consent_org_at", "Consented to organization at (UTC)"),
    ("consent_org_text", "Consent wording"),
    ("consent_updates", "Wants campaign updates"),
    ("source", "Source"),
    ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("utm_campaign", "utm_campaign"),
    ("campaign__title", "Campaign"),
)


class _Echo:
    """csv.writer writes into this; each row string is yielded straight to the response."""

    def write(self, value):
        return value


def _csv_safe(value) -> str:
    """Neutralise spreadsheet formulas a supporter could type into their name."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def stream_supporters_csv(queryset, filename: str) -> StreamingHttpResponse:
    """Stream the consented subset of `queryset` as CSV, row by row (no list in memory)."""
    rows = supporters_for_org_export(queryset).values_list(*(f for f, _ in CSV_COLUMNS))
    writer = csv.writer(_Echo())

    def generate():
        yield writer.writerow([label for _, label in CSV_COLUMNS])
        for row in rows.iterator(chunk_size=1000):
            yield writer.writerow([_csv_safe(v) for v in row])

    response = StreamingHttpResponse(generate(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class CampaignFilter(admin.SimpleListFilter):
    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        return [(c.pk, c.title) for c in campaigns_visible_to(user=request.user).order_by("title")]

    def queryset(self, request, queryset):
        # Only a campaign id: anything else (typed into the URL) filters nothing.
        if self.value() and self.value().isdigit():
            return queryset.filter(campaign_id=int(self.value()))
        return queryset


class ConfirmedFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("confirmed", "Confirmed"), ("waiting", "Waiting to confirm"), ("left", "Left")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "confirmed":
            return queryset.filter(confirmed_at__isnull=False, left_at__isnull=True)
        if value == "waiting":
            return queryset.filter(confirmed_at__isnull=True, left_at__isnull=True)
        if value == "left":
            return queryset.filter(left_at__isnull=False)
        return queryset


class SourceFilter(admin.SimpleListFilter):
    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        sources = (
            supporters_visible_to(user=request.user)
            .exclude(source="")
            .order_by("source")
            .values_list("source", flat=True)
            .distinct()[:50]
        )
        return [("-", "(none)")] + [(s, s) for s in sources]

    def queryset(self, request, queryset):
        if self.value() == "-":
            return queryset.filter(source="")
        if self.value():
            return queryset.filter(source=self.value())
        return queryset


@admin.register(Supporter)
class SupporterAdmin(LookupSafeChangeListMixin, OwnFieldsSaveMixin, admin.ModelAdmin):
    change_list_template = "supporters/admin/supporter_change_list.html"
    list_display = (
        "name",
        "email",
        "campaign",
        "tier",
        "is_confirmed_display",
        "consent_updates",
        "consent_org",
        "source",
        "created_at",
    )
    list_filter = (
        CampaignFilter,
        "tier",
        ConfirmedFilter,
        "consent_updates",
        "consent_org",
        SourceFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("name", "email", "postal_code")
    list_select_related = ("campaign",)
    date_hierarchy = "created_at"
    list_per_page = 100
    actions = ["export_selected_csv"]
    fields = (
        "campaign",
        "name",
        "email",
        "postal_code",
        "phone",
        "tier",
        "user",
        "confirmed_at",
        "left_at",
        ("consent_updates", "consent_updates_at"),
        "consent_updates_text",
        ("consent_org", "consent_org_at"),
        "consent_org_text",
        ("public_listing", "display_name"),
        ("source", "referrer"),
        ("utm_source", "utm_medium", "utm_campaign"),
        "created_at",
    )
    # Consents, counts and tiers move only through services; nobody edits them here.
    readonly_fields = (
        "campaign",
        "email",
        "tier",
        "user",
        "confirmed_at",
        "left_at",
        "consent_updates",
        "consent_updates_at",
        "consent_updates_text",
        "consent_org",
        "consent_org_at",
        "consent_org_text",
        "source",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "created_at",
    )

    @admin.display(description="confirmed", boolean=True)
    def is_confirmed_display(self, obj):
        return obj.is_confirmed

    def get_queryset(self, request):
        return supporters_visible_to(user=request.user)

    def has_module_permission(self, request):
        return user_is_platform_staff(request.user) or user_is_organizer(request.user)

    def has_view_permission(self, request, obj=None):
        return user_is_platform_staff(request.user) or user_is_organizer(request.user)

    def has_change_permission(self, request, obj=None):
        return user_is_platform_staff(request.user)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "export/<int:campaign_id>/",
                wrap(self.export_campaign_view),
                name="supporters_supporter_export",
            ),
            path(
                "chart/<int:campaign_id>/",
                wrap(self.chart_view),
                name="supporters_supporter_chart",
            ),
            *super().get_urls(),
        ]

    def _visible_campaign(self, request, campaign_id: int):
        if not self.has_view_permission(request):
            raise Http404
        campaign = campaigns_visible_to(user=request.user).filter(pk=campaign_id).first()
        if campaign is None:
            raise Http404("No such campaign among yours.")
        return campaign

    def export_campaign_view(self, request, campaign_id: int):
        campaign = self._visible_campaign(request, campaign_id)
        stamp = timezone.now().strftime("%Y-%m-%d")
        return stream_supporters_csv(
            supporters_visible_to(user=request.user).filter(campaign=campaign),
            f"supporters-{campaign.slug}-{stamp}.csv",
        )

    def chart_view(self, request, campaign_id: int):
        campaign = self._visible_campaign(request, campaign_id)
        return render(
            request,
            "supporters/admin/chart_page.html",
            {
                **self.admin_site.each_context(request),
                "title": f"New supporters and pledges: {campaign.title}",
                "chart": daily_signups(campaign.pk, days=30),
                "opts": self.model._meta,
                "campaign": campaign,
            },
        )

    @admin.action(description="Export selected to CSV (only those who agreed to hear from you)")
    def export_selected_csv(self, request, queryset):
        stamp = timezone.now().strftime("%Y-%m-%d")
        return stream_supporters_csv(queryset, f"supporters-{stamp}.csv")

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        campaign_id = request.GET.get("campaign")
        if campaign_id and campaign_id.isdigit():
            campaign = campaigns_visible_to(user=request.user).filter(pk=campaign_id).first()
            if campaign is not None:
                extra_context["filtered_campaign"] = campaign
                extra_context["export_url"] = reverse(
                    "admin:supporters_supporter_export", args=[campaign.pk]
                )
                extra_context["chart_url"] = reverse(
                    "admin:supporters_supporter_chart", args=[campaign.pk]
                )
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ("campaign", "kind", "threshold", "reached_at", "notified_at")
    list_filter = ("kind",)
    readonly_fields = ("campaign", "kind", "threshold", "reached_at", "notified_at")

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("campaign")
        if user_is_platform_staff(request.user):
            return qs
        return qs.filter(campaign__organization__members=request.user)

    def has_module_permission(self, request):
        return user_is_platform_staff(request.user) or user_is_organizer(request.user)

    def has_view_permission(self, request, obj=None):
        return user_is_platform_staff(request.user) or user_is_organizer(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "date_joined")
    search_fields = ("email", "first_name", "last_name", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "display_name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Payments", {"fields": ("stripe_customer_id",)}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("stripe_customer_id", "last_login", "date_joined")
