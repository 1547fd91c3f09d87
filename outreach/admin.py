"""Organizer screens for outreach: writing and publishing updates, and each campaign's dashboard
(growth chart, referral sources, milestones, the embeddable counter's snippet).

Organizers see and write only their own organizations' campaigns (campaigns.selectors decides);
another organization's update or dashboard by URL is a 404. Publishing calls the service.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from actions.selectors import calls_per_office
from campaigns.admin_languages import BothLanguagesMixin, spanish
from campaigns.admin_saves import OwnFieldsSaveMixin
from campaigns.admin_scope import CampaignScopedAdminMixin
from campaigns.models import Campaign
from campaigns.selectors import campaigns_editable_by
from outreach.forms import CampaignUpdateAdminForm
from outreach.images import update_image_clean
from outreach.models import CampaignUpdate
from outreach.selectors import (
    action_results,
    campaign_stats,
    dashboard_series,
    final_push_segments,
    milestone_history,
    top_referral_sources,
)
from outreach.services import UpdateNotPublishable, update_publish, update_send
from pledges.selectors_forecast import campaign_forecast


def embed_snippet(campaign) -> str:
    """The HTML an organizer pastes into a partner's page to show the live counter."""
    src = f"{settings.SITE_URL}{reverse('outreach:embed', kwargs={'slug': campaign.slug})}"
    return (
        f'<iframe src="{src}" title="{campaign.title}: live campaign counter" '
        'width="100%" height="280" style="border:0;max-width:560px;" loading="lazy"></iframe>'
    )


@admin.register(CampaignUpdate)
class CampaignUpdateAdmin(
    CampaignScopedAdminMixin, BothLanguagesMixin, OwnFieldsSaveMixin, admin.ModelAdmin
):
    form = CampaignUpdateAdminForm
    change_form_template = "outreach/admin/update_change_form.html"
    change_list_template = "outreach/admin/update_change_list.html"
    list_display = ("title", "campaign", "audience", "state", "published_at", "delivered")
    list_filter = ("audience", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "body")
    list_select_related = ("campaign",)
    readonly_fields = ("state", "published_at", "sent_at", "author", "delivered", "public_link")
    actions = ["publish_selected"]

    def get_fieldsets(self, request, obj=None):
        main = ("campaign", "title", "audience", "segment", "body", "image", "image_alt")
        fieldsets = [
            (None, {"fields": main}),
            ("In Spanish (en español)", {"fields": spanish("title", "body", "image_alt")}),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    "Publishing",
                    {
                        "fields": (
                            "state",
                            "published_at",
                            "sent_at",
                            "delivered",
                            "author",
                            "public_link",
                        )
                    },
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.published_at:
            # It went out to that audience of that campaign: corrections yes, re-targeting no.
            fields += ["campaign", "audience", "segment"]
        return fields

    # --- who sees what --------------------------------------------------------------------

    def has_delete_permission(self, request, obj=None):
        # A published update was emailed: it stays, as the record of what people were told.
        if obj is not None and obj.published_at:
            return False
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)
        if "image" in form.changed_data and obj.image:
            update_image_clean(update=obj)

    # --- display --------------------------------------------------------------------------
    @admin.display(description="state")
    def state(self, obj):
        if obj.published_at is None:
            return "Draft"
        return "Published and emailed" if obj.sent_at else "Published"

    @admin.display(description="emails sent")
    def delivered(self, obj):
        return obj.deliveries.count() if obj.pk else 0

    @admin.display(description="public page")
    def public_link(self, obj):
        if not obj.pk:
            return "-"
        url = reverse("outreach:update_detail", kwargs={"slug": obj.campaign.slug, "pk": obj.pk})
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    # --- publishing -----------------------------------------------------------------------
    def _publish(self, request, update) -> None:
        try:
            published = update_publish(update=update)
        except UpdateNotPublishable as exc:
            self.message_user(request, f"“{update.title}”: {exc}", messages.ERROR)
            return
        if published:
            self.message_user(
                request,
                f"“{update.title}” is published; its email is on its way to the "
                f"{update.get_audience_display().split(' (')[0]} who asked for updates.",
                messages.SUCCESS,
            )
        else:
            self.message_user(request, f"“{update.title}” was already published.", messages.WARNING)

    @admin.action(description="Publish and email the selected updates")
    def publish_selected(self, request, queryset):
        for update in queryset.select_related("campaign"):
            if self.has_change_permission(request, update):
                self._publish(request, update)

    def response_change(self, request, obj):
        if "_publish" in request.POST:
            self._publish(request, obj)
            return HttpResponseRedirect(request.path)
        if "_send_missing" in request.POST and obj.published_at:
            queued = update_send(update=obj, again=True)
            self.message_user(
                request,
                f"Queued {queued} more email{'s' if queued != 1 else ''} (nobody gets it twice).",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        if "_publish" in request.POST:
            self._publish(request, obj)
            return HttpResponseRedirect(
                reverse("admin:outreach_campaignupdate_change", args=[obj.pk])
            )
        return super().response_add(request, obj, post_url_continue)

    # --- dashboards -----------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "dashboard/",
                wrap(self.dashboard_index_view),
                name="outreach_dashboard_index",
            ),
            path(
                "dashboard/<int:campaign_id>/",
                wrap(self.dashboard_view),
                name="outreach_dashboard",
            ),
            *super().get_urls(),
        ]

    def _dashboard_campaigns(self, request):
        if not self.has_view_permission(request):
            raise Http404
        return campaigns_editable_by(request.user)

    def dashboard_index_view(self, request):
        campaigns = self._dashboard_campaigns(request).order_by("-deadline")
        return TemplateResponse(
            request,
            "outreach/admin/dashboard_index.html",
            {
                **self.admin_site.each_context(request),
                "title": "Campaign dashboards",
                "campaigns": campaigns,
                "opts": self.model._meta,
            },
        )

    def dashboard_view(self, request, campaign_id: int):
        campaign = self._dashboard_campaigns(request).filter(pk=campaign_id).first()
        if campaign is None:
            raise Http404("No such campaign among yours.")
        return TemplateResponse(
            request,
            "outreach/admin/dashboard.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Dashboard: {campaign.title}",
                "campaign": campaign,
                "stats": campaign_stats(campaign=campaign),
                "series": dashboard_series(campaign=campaign),
                "sources": top_referral_sources(campaign=campaign),
                "milestones": milestone_history(campaign=campaign),
                "calls_per_office": calls_per_office(campaign=campaign),
                "forecast": campaign_forecast(campaign=campaign)
                if campaign.status == Campaign.Status.LIVE
                else None,
                "actions": action_results(campaign=campaign),
                "push": final_push_segments(campaign=campaign)
                if campaign.status == Campaign.Status.LIVE
                else [],
                "settlement_url": reverse(
                    "admin:pledges_campaignsettlement_change", args=[campaign.pk]
                )
                if campaign.status
                in (Campaign.Status.SETTLING, Campaign.Status.SUCCEEDED, Campaign.Status.FAILED)
                else "",
                "updates": CampaignUpdate.objects.filter(campaign=campaign).order_by(
                    "-published_at", "-id"
                )[:10],
                "snippet": embed_snippet(campaign),
                "embed_url": reverse("outreach:embed", kwargs={"slug": campaign.slug}),
                "stats_url": f"{settings.SITE_URL}"
                + reverse("outreach:stats", kwargs={"slug": campaign.slug}),
                "opts": self.model._meta,
            },
        )
