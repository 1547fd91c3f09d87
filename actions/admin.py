"""Organizer screens for take-action: actions with their call targets and links.

Organizers see and edit only the actions of their own organization's campaigns (reaching
another organization's action by URL is a 404, like campaigns); platform staff see all. The
totals and the records of what supporters did are read-only: they move only through
`actions.services`.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from actions.models import Action, ActionCompletion, ActionLink, CallTarget
from actions.selectors import State, action_state
from campaigns.admin import OwnCampaignInlineMixin
from campaigns.admin_languages import BothLanguagesMixin, spanish
from campaigns.admin_saves import OwnFieldsSaveMixin
from campaigns.admin_scope import CampaignScopedAdminMixin
from campaigns.selectors import campaigns_editable_by, user_can_edit_campaign

URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}

KIND_FIELDS = {
    Action.Kind.CALL: ["call_script"],
    Action.Kind.EMAIL: ["email_to", "email_to_name", "email_subject", "email_body"],
    Action.Kind.PETITION: ["petition_text"],
    Action.Kind.EVENT: [
        "event_starts_at",
        "event_ends_at",
        "event_timezone",
        "event_place",
        "event_address",
        "event_online_url",
        "event_capacity",
        "reminder_hours",
    ],
}


CONGRESS_SECTION = _("Members of Congress and key messages (call and email actions)")

KIND_SECTIONS = {
    "Call a decision maker": Action.Kind.CALL,
    "Email a decision maker": Action.Kind.EMAIL,
    "Petition": Action.Kind.PETITION,
    "Event": Action.Kind.EVENT,
}


class OwnActionInlineMixin(OwnCampaignInlineMixin):
    """Inlines follow their action's campaign: editable when the campaign is."""

    def campaign_of(self, obj):
        return obj.campaign


class CallTargetInline(OwnActionInlineMixin, admin.TabularInline):
    model = CallTarget
    extra = 0
    fields = [
        "position",
        "name",
        "office",
        "phone",
        "talked_count",
        "voicemail_count",
        "busy_count",
        "legislator",
    ]
    readonly_fields = ["talked_count", "voicemail_count", "busy_count", "legislator"]
    verbose_name_plural = "Who to call (call actions; in order of position)"


class ActionLinkInline(OwnActionInlineMixin, admin.StackedInline):
    model = ActionLink
    formfield_overrides = URL_FIELDS
    extra = 0
    fields = [
        "position",
        "title",
        "url",
        "description",
        ("contact_name", "contact_email", "contact_phone"),
    ]
    verbose_name_plural = (
        "Links and contacts (the list for give / learn / volunteer; resources for the others)"
    )


@admin.register(Action)
class ActionAdmin(
    CampaignScopedAdminMixin, BothLanguagesMixin, OwnFieldsSaveMixin, admin.ModelAdmin
):
    formfield_overrides = URL_FIELDS
    list_display = [
        "title",
        "campaign",
        "kind",
        "position",
        "published",
        "availability",
        "total",
        "updated_on",
    ]
    list_editable = ["position", "published"]
    list_filter = ["kind", "published"]
    list_select_related = ["campaign"]
    search_fields = ["title", "campaign__title"]
    ordering = ["campaign", "position", "id"]
    inlines = [CallTargetInline, ActionLinkInline]
    save_on_top = True

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "campaign",
                    "kind",
                    "title",
                    "why_it_matters",
                    "updated_on",
                    "position",
                    "published",
                    "public_link",
                ]
            },
        ),
        (
            "When",
            {
                "fields": [
                    "starts_at",
                    "ends_at",
                    "advocates_first_hours",
                    "advocates_notified_at",
                ],
                "description": "Times are in UTC.",
            },
        ),
        (
            CONGRESS_SECTION,
            {
                "fields": ["congress_targets", "key_messages"],
                "description": _(
                    "Members of Congress are found from each supporter's ZIP code (public data "
                    "loaded with manage.py congress_load). Calls are counted per office below."
                ),
            },
        ),
        ("Call a decision maker", {"fields": KIND_FIELDS[Action.Kind.CALL]}),
        ("Email a decision maker", {"fields": KIND_FIELDS[Action.Kind.EMAIL]}),
        ("Petition", {"fields": KIND_FIELDS[Action.Kind.PETITION]}),
        ("Event", {"fields": KIND_FIELDS[Action.Kind.EVENT]}),
        (
            "In Spanish (en español)",
            {
                "fields": spanish(
                    "title",
                    "why_it_matters",
                    "call_script",
                    "key_messages",
                    "email_subject",
                    "email_body",
                    "petition_text",
                ),
                "description": "Leave a text empty to show the English one there.",
            },
        ),
        ("Totals", {"fields": ["completed_count", "outcome_count", "who_did_it"]}),
    ]
    readonly_fields = [
        "public_link",
        "advocates_notified_at",
        "completed_count",
        "outcome_count",
        "who_did_it",
    ]

    def get_fieldsets(self, request, obj=None):
        """Show only the fields of the action's kind once it has one."""
        if obj is None:
            return self.fieldsets
        hide = {title for title, kind in KIND_SECTIONS.items() if kind != obj.kind}
        if obj.kind not in {Action.Kind.CALL, Action.Kind.EMAIL}:
            hide.add(CONGRESS_SECTION)
        return [fs for fs in self.fieldsets if fs[0] not in hide]

    def get_readonly_fields(self, request, obj=None):
        # What supporters did was recorded against this kind of action: it cannot change.
        if obj is not None:
            return [*self.readonly_fields, "kind"]
        return self.readonly_fields

    def get_inlines(self, request, obj):
        if obj is not None and obj.kind != Action.Kind.CALL:
            return [ActionLinkInline]
        return self.inlines

    @admin.display(description="Page")
    def public_link(self, obj):
        if obj is None or not obj.pk:
            return "Saved actions get a page."
        url = reverse("actions:detail", kwargs={"slug": obj.campaign.slug, "pk": obj.pk})
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description="Open to")
    def availability(self, obj):
        from django.utils import timezone

        now = timezone.now()
        everyone = action_state(obj, now=now, early_access=False)
        early = action_state(obj, now=now, early_access=True)
        if everyone == State.OPEN:
            return "Everyone"
        if everyone == State.CLOSED:
            return "Closed"
        if early == State.EARLY:
            return "Advocates and Champions"
        return "Nobody yet" if obj.published else "Unpublished"

    @admin.display(description="Total")
    def total(self, obj):
        from actions.selectors import action_total_label

        return action_total_label(obj, invite=False) or "—"

    @admin.display(description="Who did it")
    def who_did_it(self, obj):
        if obj is None or not obj.pk:
            return "—"
        url = reverse("admin:actions_actioncompletion_changelist") + f"?action__id__exact={obj.pk}"
        label = "the RSVP list" if obj.kind == Action.Kind.EVENT else "the list of people"
        return format_html('<a href="{}">See {}</a>', url, label)


@admin.register(ActionCompletion)
class ActionCompletionAdmin(admin.ModelAdmin):
    """Who did what (called, sent, signed, RSVP'd): a read-only record, e.g. an event's RSVP
    list. Organizers see their own organization's campaigns only."""

    list_display = ["supporter_name", "supporter_email", "postal_code", "action", "counted"]
    list_filter = ["action__kind"]
    list_select_related = ["supporter", "action", "action__campaign"]
    search_fields = ["supporter__name", "supporter__email", "action__title"]
    ordering = ["action", "counted_at", "id"]
    fields = ["action", "supporter", "created_at", "counted_at", "reminded_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(action__campaign__in=campaigns_editable_by(request.user))
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        allowed = obj is None or user_can_edit_campaign(request.user, obj.action.campaign)
        return super().has_view_permission(request, obj) and allowed

    @admin.display(description="Name", ordering="supporter__name")
    def supporter_name(self, obj):
        return obj.supporter.name

    @admin.display(description="Email", ordering="supporter__email")
    def supporter_email(self, obj):
        return obj.supporter.email

    @admin.display(description="ZIP")
    def postal_code(self, obj):
        return obj.supporter.postal_code

    @admin.display(description="Counted", ordering="counted_at")
    def counted(self, obj):
        return obj.counted_at or "waiting for email confirmation"
