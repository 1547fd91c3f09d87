"""Settlement in the admin: Admin → Pledges and payments → Settlements.

Staff see every campaign past its deadline with its money at a glance; open one for the
settlement report (pledged vs collected vs failed vs pending, each pledge and its history, CSV
download), approve a campaign that met its goal for collection or reject it with a reason, and
refund a paid pledge in full or in part. Every button calls a service; nothing here decides.
"""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign
from campaigns.selectors import campaign_collection, user_is_platform_staff
from campaigns.templatetags.rallyround import money
from pledges.forms import parse_amount_cents
from pledges.models import CampaignSettlement, Pledge
from pledges.selectors_settlement import (
    REPORT_GROUPS,
    settlement_csv_rows,
    settlement_pledges,
    settlement_progress,
    settlement_report,
)
from pledges.services.attempts import SettlementError
from pledges.services.refunds import (
    RefundError,
    pledge_duplicate_refund,
    pledge_duplicates,
    pledge_next_refund_number,
    pledge_refund,
    pledge_refundable_cents,
)
from pledges.services.review import pledge_review_retry, pledge_review_write_off
from pledges.services.settlement import (
    campaign_approve_for_collection,
    campaign_goal_met,
    campaign_reject_collection,
)

C = Campaign.Status
SETTLEMENT_STATES = (C.SETTLING, C.SUCCEEDED, C.FAILED, C.CLOSED)
REVIEW_ACTIONS = frozenset({"review_retry", "review_write_off"})


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason (sent to the organizers)",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
        error_messages={"required": "Give a reason: organizers and supporters are told why."},
    )


class RefundForm(forms.Form):
    amount = forms.CharField(
        label="Amount to refund (US dollars)",
        error_messages={"required": "Enter the amount to refund."},
    )
    reason = forms.CharField(
        label="Reason (shown to the supporter)", required=False, max_length=180
    )
    number = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, refundable_cents: int, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable_cents = refundable_cents
        self.currency = currency

    def clean_amount(self) -> int:
        cents = parse_amount_cents(self.cleaned_data["amount"])
        if cents > self.refundable_cents:
            raise forms.ValidationError(
                f"At most {money(self.refundable_cents, self.currency)} can still be refunded."
            )
        return cents


class _Echo:
    def write(self, value):
        return value


@admin.register(CampaignSettlement)
class CampaignSettlementAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "status",
        "deadline",
        "goal",
        "pledged_at_deadline",
        "collected",
        "collection",
        "awaiting",
    )
    list_filter = ("status",)
    search_fields = ("title", "slug")
    ordering = ("-deadline",)
    actions = ["approve_selected"]

    # --- list ---------------------------------------------------------------------------------
    def get_queryset(self, request):
        return super().get_queryset(request).filter(status__in=SETTLEMENT_STATES)

    # Settlement is platform staff's alone: the role (superuser or the "Platform staff" group)
    # and the model permission the group is granted (campaigns/roles.py). An organizer never
    # gets in, even if someone gave them the permission by hand.
    def has_module_permission(self, request):
        return user_is_platform_staff(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return user_is_platform_staff(request.user) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return user_is_platform_staff(request.user) and super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Goal")
    def goal(self, obj):
        return money(obj.goal_cents, obj.currency)

    @admin.display(description="Pledged at deadline")
    def pledged_at_deadline(self, obj):
        return money(obj.frozen_pledged_cents or 0, obj.currency)

    @admin.display(description="Collected")
    def collected(self, obj):
        return money(obj.collected_cents, obj.currency)

    @admin.display(description=gettext_lazy("Collection"))
    def collection(self, obj):
        collection = campaign_collection(campaign=obj)
        if collection is None:
            return ""
        return _(
            "%(state)s: %(paid)s paid, %(collecting)s still collecting, "
            "%(uncollected)s not collected"
        ) % {
            "state": collection.label,
            "paid": collection.paid,
            "collecting": collection.collecting,
            "uncollected": collection.uncollected,
        }

    @admin.display(description="Needs you")
    def awaiting(self, obj):
        if obj.status == C.SETTLING and campaign_goal_met(obj):
            url = reverse("admin:pledges_campaignsettlement_approve", args=[obj.pk])
            return format_html('<a href="{}">Approve or reject</a>', url)
        return ""

    @admin.action(description="Approve selected campaigns for collection", permissions=["change"])
    def approve_selected(self, request, queryset):
        for campaign in queryset:
            try:
                due = campaign_approve_for_collection(campaign=campaign, actor=request.user)
            except SettlementError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"“{campaign.title}” approved: charging {due} pledges.",
                    messages.SUCCESS,
                )

    # --- views --------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:campaign_id>/approve/", view(self.approve_view), name=self._name("approve")),
            path("<int:campaign_id>/reject/", view(self.reject_view), name=self._name("reject")),
            path("<int:campaign_id>/report.csv", view(self.csv_view), name=self._name("csv")),
            path(
                "<int:campaign_id>/pledge/<int:pledge_id>/",
                view(self.pledge_view),
                name=self._name("pledge"),
            ),
            *super().get_urls(),
        ]

    def _name(self, what: str) -> str:
        return f"pledges_campaignsettlement_{what}"

    def _campaign(self, request: HttpRequest, campaign_id: int) -> Campaign:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(Campaign, pk=campaign_id, status__in=SETTLEMENT_STATES)

    def _context(self, request, campaign, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "campaign": campaign,
            "title": campaign.title,
            **extra,
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The settlement report replaces the edit form: nothing about a settled campaign is
        edited by hand."""
        campaign = self._campaign(request, int(object_id))
        status = request.GET.get("status", "")
        page = Paginator(settlement_pledges(campaign=campaign, status=status), 100).get_page(
            request.GET.get("page")
        )
        report = settlement_report(campaign=campaign)
        context = self._context(
            request,
            campaign,
            report=report,
            progress=settlement_progress(campaign=campaign, report=report),
            page=page,
            status_filter=status,
            groups=list(REPORT_GROUPS),
            goal_met=campaign_goal_met(campaign),
        )
        return TemplateResponse(request, "admin/pledges/settlement/report.html", context)

    def approve_view(self, request, campaign_id: int):
        campaign = self._campaign(request, campaign_id)
        if request.method == "POST":
            try:
                due = campaign_approve_for_collection(campaign=campaign, actor=request.user)
            except SettlementError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"“{campaign.title}” approved for collection: charging {due} pledges now.",
                    messages.SUCCESS,
                )
            return redirect("admin:pledges_campaignsettlement_change", campaign.pk)
        context = self._context(
            request,
            campaign,
            report=settlement_report(campaign=campaign),
            goal_met=campaign_goal_met(campaign),
            reject_form=RejectForm(),
        )
        return TemplateResponse(request, "admin/pledges/settlement/approve.html", context)

    def reject_view(self, request, campaign_id: int):
        campaign = self._campaign(request, campaign_id)
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                released = campaign_reject_collection(
                    campaign=campaign, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except SettlementError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"“{campaign.title}” rejected; {released} pledges released, nobody charged.",
                    messages.SUCCESS,
                )
                return redirect("admin:pledges_campaignsettlement_change", campaign.pk)
        context = self._context(
            request,
            campaign,
            report=settlement_report(campaign=campaign),
            goal_met=campaign_goal_met(campaign),
            reject_form=form,
        )
        return TemplateResponse(request, "admin/pledges/settlement/approve.html", context)

    def csv_view(self, request, campaign_id: int):
        campaign = self._campaign(request, campaign_id)
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in settlement_csv_rows(campaign=campaign)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="settlement-{campaign.slug}.csv"'
        return response

    def _review(self, request, pledge: Pledge) -> None:
        try:
            if request.POST["action"] == "review_retry":
                report = pledge_review_retry(pledge=pledge, actor=request.user)
                now_status = report.status.replace("_", " ")
                self.message_user(
                    request,
                    f"Charged again: pledge R-{pledge.pk} is now {now_status}.",
                    messages.SUCCESS if report.status == Pledge.Status.PAID else messages.WARNING,
                )
            else:
                pledge_review_write_off(
                    pledge=pledge, actor=request.user, reason=request.POST.get("reason", "")
                )
                self.message_user(request, f"Pledge R-{pledge.pk} marked unpaid.", messages.SUCCESS)
        except SettlementError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def pledge_view(self, request, campaign_id: int, pledge_id: int):
        campaign = self._campaign(request, campaign_id)
        pledge = get_object_or_404(
            Pledge.objects.select_related("supporter"), pk=pledge_id, campaign=campaign
        )
        refundable = pledge_refundable_cents(pledge) if pledge.status in ("paid", "disputed") else 0
        form = RefundForm(
            request.POST or None,
            refundable_cents=refundable,
            currency=pledge.currency,
            initial={
                "number": pledge_next_refund_number(pledge),
                "amount": f"{refundable / 100:.2f}",
            },
        )
        if request.method == "POST" and request.POST.get("action") in REVIEW_ACTIONS:
            self._review(request, pledge)
            return redirect(request.path)
        if request.method == "POST" and request.POST.get("action") == "refund_duplicate":
            duplicate = request.POST.get("payment_intent", "")
            try:
                info = pledge_duplicate_refund(
                    pledge=pledge, payment_intent_id=duplicate, actor=request.user
                )
            except RefundError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("Duplicate payment %(pi)s refunded in full (%(refund)s).")
                    % {"pi": duplicate, "refund": info.id},
                    messages.SUCCESS,
                )
            return redirect(request.path)
        if request.method == "POST" and form.is_valid():
            try:
                refund = pledge_refund(
                    pledge=pledge,
                    amount_cents=form.cleaned_data["amount"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    number=form.cleaned_data["number"],
                )
            except RefundError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Refund {refund.idempotency_key}: "
                    f"{money(refund.amount_cents, pledge.currency)} "
                    f"{refund.get_status_display().lower()}.",
                    messages.SUCCESS,
                )
            return redirect(request.path)
        context = self._context(
            request,
            campaign,
            title=f"Pledge R-{pledge.pk}",
            pledge=pledge,
            events=pledge.events.select_related("actor"),
            attempts=pledge.attempts.all(),
            refunds=pledge.refunds.select_related("created_by").order_by("pk"),
            refund_form=form if refundable else None,
            refundable_cents=refundable,
            duplicates=pledge_duplicates(pledge),
        )
        return TemplateResponse(request, "admin/pledges/settlement/pledge.html", context)
