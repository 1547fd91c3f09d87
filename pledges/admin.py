"""Pledges in the admin: read-only screens for organizers and staff.

Organizers (staff members of an Organization) see only their organizations' pledges; platform
staff see all. Nothing here edits a pledge: statuses move only through the services (and
settlement's actions, which live in admin_settlement.py). Stripe ids link to Stripe's dashboard.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.utils.html import format_html

from campaigns.admin_bounds import ReadOnlyRowsFormSet
from campaigns.selectors import user_is_organizer, user_is_platform_staff, user_organization_ids
from campaigns.templatetags.rallyround import money
from config.admin_changelist import LookupSafeChangeListMixin
from pledges.models import Pledge, PledgeEvent, StripeEvent


def stripe_dashboard_url(kind: str, object_id: str) -> str:
    """A link into Stripe's dashboard (the test-mode half for test keys)."""
    test = settings.STRIPE_SECRET_KEY.startswith(("sk_test_", "rk_test_"))
    return f"https://dashboard.stripe.com/{'test/' if test else ''}{kind}/{object_id}"


def _stripe_link(kind: str, object_id: str):
    if not object_id:
        return "—"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        stripe_dashboard_url(kind, object_id),
        object_id,
    )


def pledges_visible_to(user):
    """Every pledge for platform staff; an organizer's own organizations' pledges otherwise."""
    qs = Pledge.objects.select_related("campaign", "supporter")
    if user_is_platform_staff(user):
        return qs
    if not user_is_organizer(user):
        return qs.none()
    return qs.filter(campaign__organization__in=user_organization_ids(user))


def _may_see_pledges(user) -> bool:
    return user_is_platform_staff(user) or user_is_organizer(user)


class VisibleCampaignFilter(admin.SimpleListFilter):
    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        campaigns = (
            pledges_visible_to(request.user)
            .order_by("campaign__title")
            .values_list("campaign_id", "campaign__title")
            .distinct()
        )
        return list(campaigns)

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(campaign_id=int(self.value()))
        return queryset


class PledgeEventInline(admin.TabularInline):
    model = PledgeEvent
    formset = ReadOnlyRowsFormSet
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")
    fields = (
        "created_at",
        "from_status",
        "to_status",
        "amount_display",
        "who",
        "note",
        "code",
        "stripe_object_id",
    )
    readonly_fields = fields
    verbose_name = "history line"
    verbose_name_plural = "History (never edited)"

    @admin.display(description="amount")
    def amount_display(self, obj):
        return money(obj.amount_cents, obj.pledge.currency) if obj.amount_cents is not None else "—"

    @admin.display(description="by")
    def who(self, obj):
        return obj.actor.email if obj.actor_id else (obj.actor_label or "—")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return _may_see_pledges(request.user)


@admin.register(Pledge)
class PledgeAdmin(LookupSafeChangeListMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "supporter_email",
        "supporter_name",
        "campaign",
        "tier",
        "amount_display",
        "status",
        "card_display",
        "created_at",
    )
    list_filter = (
        VisibleCampaignFilter,
        "status",
        "tier",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "supporter__email",
        "supporter__name",
        "stripe_customer_id",
        "stripe_setup_intent_id",
        "stripe_payment_intent_id",
    )
    list_select_related = ("campaign", "supporter")
    list_per_page = 100
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = [PledgeEventInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "campaign",
                    "supporter_link",
                    "tier",
                    "amount_display",
                    "status",
                    "created_at",
                    "updated_at",
                )
            },
        ),
        (
            "Card and Stripe",
            {
                "fields": (
                    "card_display",
                    "customer_link",
                    "setup_intent_link",
                    "stripe_payment_method_id",
                    "payment_intent_link",
                )
            },
        ),
        (
            "Collection",
            {
                "fields": (
                    "attempt_count",
                    "next_attempt_at",
                    "grace_ends_at",
                    "paid_display",
                    "refunded_display",
                    "paid_at",
                )
            },
        ),
    )
    readonly_fields = (
        "campaign",
        "supporter_link",
        "tier",
        "amount_display",
        "status",
        "created_at",
        "updated_at",
        "card_display",
        "customer_link",
        "setup_intent_link",
        "stripe_payment_method_id",
        "payment_intent_link",
        "attempt_count",
        "next_attempt_at",
        "grace_ends_at",
        "paid_display",
        "refunded_display",
        "paid_at",
    )

    # --- columns ------------------------------------------------------------------------
    @admin.display(description="email", ordering="supporter__email")
    def supporter_email(self, obj):
        return obj.supporter.email

    @admin.display(description="name", ordering="supporter__name")
    def supporter_name(self, obj):
        return obj.supporter.name

    @admin.display(description="supporter")
    def supporter_link(self, obj):
        return f"{obj.supporter.name} <{obj.supporter.email}>"

    @admin.display(description="amount", ordering="amount_cents")
    def amount_display(self, obj):
        return money(obj.amount_cents, obj.currency)

    @admin.display(description="paid")
    def paid_display(self, obj):
        return money(obj.paid_cents, obj.currency)

    @admin.display(description="refunded")
    def refunded_display(self, obj):
        return money(obj.refunded_cents, obj.currency)

    @admin.display(description="card")
    def card_display(self, obj):
        if not obj.card_last4:
            return "—"
        return f"{obj.card_brand.title()} •••• {obj.card_last4}"

    @admin.display(description="Stripe customer")
    def customer_link(self, obj):
        return _stripe_link("customers", obj.stripe_customer_id)

    @admin.display(description="SetupIntent")
    def setup_intent_link(self, obj):
        return _stripe_link("setup_intents", obj.stripe_setup_intent_id)

    @admin.display(description="PaymentIntent")
    def payment_intent_link(self, obj):
        return _stripe_link("payments", obj.stripe_payment_intent_id)

    # --- who sees what ------------------------------------------------------------------
    def get_queryset(self, request):
        return pledges_visible_to(request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Another organization's pledge looks exactly like one that does not exist.
            raise Http404("No pledge with that id that you can see.")
        return obj

    def has_module_permission(self, request):
        return _may_see_pledges(request.user)

    def has_view_permission(self, request, obj=None):
        return _may_see_pledges(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """Webhook events received (platform staff only): what came in and what we did with it."""

    list_display = ("event_id", "type", "object_id", "received_at", "processed_at", "outcome")
    list_filter = ("type", ("received_at", admin.DateFieldListFilter))
    search_fields = ("event_id", "object_id")
    readonly_fields = list_display
    ordering = ("-received_at",)

    def has_module_permission(self, request):
        return user_is_platform_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return user_is_platform_staff(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
