"""The organizer admin.

Organizers are staff users who are members of an Organization (and in the "Organizers" group for
model permissions): they see and edit only their organization's campaigns, and reaching another
organization's campaign by URL is a 404. Platform staff (superusers or the "Platform staff"
group) see everything and approve or send back campaigns. Actions call services; nothing here
changes a status directly.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from campaigns.admin_bounds import BoundedInlineMixin, ReadOnlyRowsFormSet
from campaigns.admin_languages import BothLanguagesMixin, OptionalTranslationsMixin, spanish
from campaigns.admin_saves import OwnFieldsSaveMixin
from campaigns.forms import (
    CampaignAdminForm,
    ExtendDeadlineForm,
    OrganizationAdminForm,
    SendBackForm,
    TierInlineForm,
    TierInlineFormSet,
)
from campaigns.images import campaign_hero_refresh, organization_logo_refresh
from campaigns.models import (
    Campaign,
    CampaignEvent,
    CoalitionMember,
    IssueArea,
    NewsLink,
    Organization,
    Section,
    Tier,
)
from campaigns.selectors import (
    campaign_collection,
    campaign_is_open,
    campaign_review_checklist,
    campaigns_editable_by,
    user_can_edit_campaign,
    user_is_platform_staff,
    user_organization_ids,
)
from campaigns.services import (
    DEFAULT_SECTIONS,
    DEFAULT_TIERS,
    CampaignNotReady,
    DeadlineNotExtendable,
    IllegalCampaignTransition,
    campaign_add_defaults,
    campaign_approve,
    campaign_extend_deadline,
    campaign_send_back,
    campaign_submit_for_review,
)
from campaigns.templatetags.rallyround import money

C = Campaign.Status
# Organizers paste "example.org"; assume https, as Django 6 will.
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}
# Once pledged against, goal and deadline are shown read-only, formatted for people.
FROZEN_AS = {"goal_cents": "goal", "deadline": "deadline_shown"}


class OwnCampaignInlineMixin(BoundedInlineMixin):
    """Inlines follow the campaign: editable when the campaign is."""

    def campaign_of(self, obj):
        """The campaign that decides access; the parent object here is the campaign itself."""
        return obj

    def _allowed(self, request, obj) -> bool:
        return obj is None or user_can_edit_campaign(request.user, self.campaign_of(obj))

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._allowed(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._allowed(request, obj)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._allowed(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._allowed(request, obj)


class SectionInline(OptionalTranslationsMixin, OwnCampaignInlineMixin, admin.StackedInline):
    model = Section
    extra = 0
    fields = ["position", "heading", "body", *spanish("heading", "body")]
    verbose_name = "content section"
    verbose_name_plural = "Content sections (Markdown; shown in order of position)"

    def get_extra(self, request, obj=None, **kwargs):
        # The add page offers the standard sections to fill in (CampaignAdmin gives them their
        # headings); a section left as offered is not saved, and the defaults fill the gap.
        return len(DEFAULT_SECTIONS) if obj is None else 0


class TierInline(OptionalTranslationsMixin, OwnCampaignInlineMixin, admin.StackedInline):
    model = Tier
    form = TierInlineForm
    formset = TierInlineFormSet
    extra = 0
    max_num = 3
    can_delete = False
    fields = [
        "kind",
        "name",
        "pitch",
        "min_cents",
        "benefits",
        *spanish("name", "pitch", "benefits"),
    ]
    readonly_fields = ["kind"]
    verbose_name_plural = "Tiers (Ally ≤ Advocate ≤ Champion; one benefit per line)"

    # Every campaign has exactly the three tiers. The add page offers them filled with the
    # defaults (CampaignAdmin.get_formset_kwargs), their kind fixed in a hidden field; later
    # they are only edited.
    def get_extra(self, request, obj=None, **kwargs):
        return len(DEFAULT_TIERS) if obj is None else 0

    def has_add_permission(self, request, obj=None):
        return obj is None and request.user.has_perm("campaigns.add_campaign")

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_formset(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["widgets"] = {"kind": forms.HiddenInput}
        return super().get_formset(request, obj, **kwargs)


class CoalitionInline(OwnCampaignInlineMixin, admin.TabularInline):
    model = CoalitionMember
    formfield_overrides = URL_FIELDS
    extra = 0
    fields = ["position", "name", "title", "url", "listed_as_supporter"]
    verbose_name_plural = "Coalition members"


class NewsInline(OwnCampaignInlineMixin, admin.TabularInline):
    model = NewsLink
    formfield_overrides = URL_FIELDS
    extra = 0
    fields = ["position", "title", "source", "url", "published_on"]
    verbose_name_plural = "News links"


class EventInline(admin.TabularInline):
    model = CampaignEvent
    formset = ReadOnlyRowsFormSet
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "who", "note"]
    readonly_fields = fields
    verbose_name_plural = "History"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="By")
    def who(self, event):
        return str(event.actor) if event.actor_id else event.actor_label


@admin.register(Campaign)
class CampaignAdmin(BothLanguagesMixin, OwnFieldsSaveMixin, admin.ModelAdmin):
    form = CampaignAdminForm
    formfield_overrides = URL_FIELDS
    list_display = [
        "title",
        "organization",
        "status_badge",
        "progress",
        "supporters",
        "ends",
    ]
    list_display_links = ["title"]
    list_filter = ["status", "campaign_type", "issue_areas"]
    search_fields = ["title", "slug", "organization__name"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["issue_areas"]
    list_select_related = ["organization"]
    actions = ["submit_for_review", "approve_and_publish", "send_back"]
    save_on_top = True

    class Media:
        css = {"all": ["campaigns/admin.css"]}

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "review_note_display",
                    "organization",
                    "language",
                    "title",
                    "slug",
                    "summary",
                    "issue_areas",
                    "campaign_type",
                ]
            },
        ),
        (
            "In Spanish (en español)",
            {
                "fields": spanish("title", "summary", "hero_alt", "hero_caption"),
                "description": "Leave a text empty to show the main language's there.",
            },
        ),
        ("Goal and deadline", {"fields": ["goal_cents", "deadline", "timezone"]}),
        (
            "Hero photo",
            {"fields": ["hero_preview", "hero_image", "hero_alt", "hero_caption", "hero_credit"]},
        ),
        (
            "Organizer contact and look",
            {"fields": ["contact_name", "contact_email", "contact_phone", "colour"]},
        ),
        (
            "Status and totals",
            {
                "fields": [
                    "status",
                    "public_link",
                    "progress",
                    "supporter_count",
                    "backer_count",
                    "published_at",
                ]
            },
        ),
    ]

    # --- which campaigns, which fields ---------------------------------------------------
    def get_queryset(self, request):
        return campaigns_editable_by(request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Another organization's campaign looks exactly like one that does not exist.
            raise Http404("No campaign with that id that you can edit.")
        return obj

    def _may_edit(self, request, obj) -> bool:
        return obj is None or user_can_edit_campaign(request.user, obj)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj) or not self._may_edit(request, obj):
            return False
        if obj is None or user_is_platform_staff(request.user):
            return True
        # Organizers may delete only drafts nobody has pledged to.
        return obj.status == C.DRAFT and not obj.pledges.exists()

    def has_publish_permission(self, request):
        return user_is_platform_staff(request.user)

    def has_submit_permission(self, request):
        return self.has_change_permission(request)

    def get_readonly_fields(self, request, obj=None):
        readonly = [
            "status",
            "public_link",
            "progress",
            "supporter_count",
            "backer_count",
            "published_at",
            "hero_preview",
            "review_note_display",
        ]
        if self._terms_frozen(obj):
            # Supporters pledged against this goal and deadline: they are frozen.
            readonly += ["goal", "goal_cents", "deadline", "deadline_shown"]
        if obj is not None and obj.status not in (C.DRAFT, C.IN_REVIEW):
            readonly += ["slug", "organization"]
        return readonly

    @staticmethod
    def _terms_frozen(obj) -> bool:
        if obj is None:
            return False
        if not hasattr(obj, "_rr_has_pledges"):
            obj._rr_has_pledges = obj.pledges.exists()
        return obj._rr_has_pledges

    def get_prepopulated_fields(self, request, obj=None):
        if obj is not None and "slug" in self.get_readonly_fields(request, obj):
            return {}
        return self.prepopulated_fields

    def get_inlines(self, request, obj):
        if obj is None:
            # Tiers and sections can be written on the first page; whatever is left as offered
            # is created with the defaults when the campaign is saved.
            return [SectionInline, TierInline, CoalitionInline, NewsInline]
        return [SectionInline, TierInline, CoalitionInline, NewsInline, EventInline]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj.pk is None:  # the add page: offer the defaults to edit
            if isinstance(inline, TierInline):
                kwargs["initial"] = [
                    {
                        "kind": kind,
                        "name": name,
                        "pitch": pitch,
                        "benefits": benefits,
                        "min_cents": Tier.DEFAULT_MINIMUMS[kind],
                    }
                    for kind, (name, pitch, benefits) in DEFAULT_TIERS.items()
                ]
            elif isinstance(inline, SectionInline):
                kwargs["initial"] = [
                    {"position": i, "heading": heading}
                    for i, heading in enumerate(DEFAULT_SECTIONS)
                ]
        return kwargs

    def get_list_display(self, request):
        if len(user_organization_ids(request.user)) == 1 and not user_is_platform_staff(
            request.user
        ):
            return [f for f in self.list_display if f != "organization"]
        return self.list_display

    def get_list_filter(self, request):
        if user_is_platform_staff(request.user):
            return ["status", "organization", "campaign_type", "issue_areas"]
        return self.list_filter

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization" and not user_is_platform_staff(request.user):
            kwargs["queryset"] = Organization.objects.filter(
                pk__in=user_organization_ids(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        orgs = user_organization_ids(request.user)
        if len(orgs) == 1 and "organization" not in initial:
            initial["organization"] = next(iter(orgs))
        return initial

    def save_model(self, request, obj, form, change):
        if not user_is_platform_staff(request.user) and (
            obj.organization_id not in user_organization_ids(request.user)
        ):
            raise PermissionDenied
        super().save_model(request, obj, form, change)
        if "hero_image" in form.changed_data:
            previous = form.initial.get("hero_image")
            campaign_hero_refresh(campaign=obj, previous_name=getattr(previous, "name", None))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            # After the inlines: tiers and sections written on the add page are kept, and only
            # what is still missing gets the defaults. Standard sections offered there and left
            # empty are kept beside the written ones, as the page showed them.
            campaign = form.instance
            if campaign.sections.exists():
                Section.objects.bulk_create(
                    Section(campaign=campaign, body="", **section.initial)
                    for formset in formsets
                    if formset.model is Section
                    for section in formset.extra_forms
                    if not section.has_changed() and section.initial
                )
            campaign_add_defaults(campaign=campaign)

    def response_add(self, request, obj, post_url_continue=None):
        messages.info(
            request,
            _(
                "Saved as a draft. The checklist at the top says what review still needs; "
                "then use “Submit for review”."
            ),
        )
        if "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        # Straight on to the new campaign's page, where its sections and tiers are.
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[obj.pk]))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not user_is_platform_staff(request.user):
            # Bulk delete skips the per-campaign checks; organizers delete drafts one by one.
            actions.pop("delete_selected", None)
        return actions

    # --- columns -------------------------------------------------------------------------
    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        colours = {
            C.DRAFT: "#4a5566",
            C.IN_REVIEW: "#8a5a00",
            C.LIVE: "#1d6b3a",
            C.SETTLING: "#1f5f8b",
            C.SUCCEEDED: "#1d6b3a",
            C.FAILED: "#a4161a",
            C.CLOSED: "#4a5566",
        }
        label = obj.get_status_display()
        collection = campaign_collection(campaign=obj)
        if collection is not None:  # collecting / collected / partly collected
            label = f"{label} · {collection.label}"
        return format_html(
            '<span style="display:inline-block;padding:2px 8px;border-radius:999px;'
            'background:{};color:#fff;font-weight:600">{}</span>',
            colours.get(obj.status, "#4a5566"),
            label,
        )

    @admin.display(description="Pledged of goal", ordering="pledged_cents")
    def progress(self, obj):
        percent = obj.percent_funded
        return format_html(
            '<div style="min-width:130px"><strong>{}</strong> of {} ({}%)'
            '<div role="progressbar" aria-valuenow="{}" aria-valuemin="0" aria-valuemax="100" '
            'aria-label="Percent of goal pledged" style="height:6px;background:#e3e8ee;'
            'border-radius:3px;margin-top:4px"><div style="height:6px;width:{}%;'
            'background:#1d6b3a;border-radius:3px"></div></div></div>',
            money(obj.shown_pledged_cents, obj.currency),
            money(obj.goal_cents, obj.currency),
            percent,
            percent,
            percent,
        )

    @admin.display(description="Supporters", ordering="supporter_count")
    def supporters(self, obj):
        return f"{obj.supporter_count:,}"

    @admin.display(description="Deadline", ordering="deadline")
    def ends(self, obj):
        local = obj.deadline_local
        return f"{local:%b} {local.day}, {local.year}"

    @admin.display(description="Hero photo")
    def hero_preview(self, obj):
        image = obj.hero_small or obj.hero_image
        if not image:
            return "No photo yet."
        return format_html(
            '<img src="{}" alt="{}" style="max-width:360px;height:auto;border-radius:8px">',
            image.url,
            obj.hero_alt or "Hero photo preview",
        )

    @admin.display(description="Public page")
    def public_link(self, obj):
        if not obj.pk:
            return "-"
        label = "View the campaign page" if obj.is_public else "Preview the campaign page"
        return format_html('<a href="{}" target="_blank">{}</a>', obj.get_absolute_url(), label)

    @admin.display(description="Note from the review")
    def review_note_display(self, obj):
        if obj.review_note:
            return format_html(
                '<div style="padding:8px 12px;background:#fff4d6;border-left:4px solid #b58100;'
                'white-space:pre-line">{}</div>',
                obj.review_note,
            )
        return "—"

    @admin.display(description="Deadline")
    def deadline_shown(self, obj):
        return format_html(
            "{} <span class='help'>(fixed: supporters have pledged against it; platform staff "
            "can extend it while the campaign is live)</span>",
            obj.deadline_display,
        )

    @admin.display(description="Campaign goal")
    def goal(self, obj):
        return format_html(
            "{} <span class='help'>(fixed: supporters have pledged against it)</span>",
            money(obj.goal_cents, obj.currency),
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self._terms_frozen(obj):
            fieldsets = [
                (
                    name,
                    {
                        **opts,
                        "fields": [FROZEN_AS.get(f, f) for f in opts["fields"]],
                    },
                )
                for name, opts in fieldsets
            ]
        if obj is None or not obj.review_note:
            fieldsets = [
                (
                    name,
                    {**opts, "fields": [f for f in opts["fields"] if f != "review_note_display"]},
                )
                for name, opts in fieldsets
            ]
        if obj is None:
            fieldsets = [fs for fs in fieldsets if fs[0] != "Status and totals"]
            fieldsets = [
                (name, {**opts, "fields": [f for f in opts["fields"] if f != "hero_preview"]})
                for name, opts in fieldsets
            ]
        return fieldsets

    # --- actions -------------------------------------------------------------------------
    def _run(self, request, queryset, service, verb, **kwargs):
        done, skipped = [], []
        for campaign in queryset:
            try:
                won = service(campaign=campaign, actor=request.user, **kwargs)
            except (CampaignNotReady, ValueError) as exc:
                skipped.append(str(exc))
                continue
            except IllegalCampaignTransition:
                won = False
            if won:
                done.append(campaign.title)
            else:
                campaign.refresh_from_db(fields=["status"])
                skipped.append(
                    f"“{campaign.title}” is {campaign.get_status_display().lower()}, "
                    f"so it cannot be {verb}."
                )
        if done:
            self.message_user(
                request, f"{verb.capitalize()}: {', '.join(done)}.", level=messages.SUCCESS
            )
        for reason in skipped:
            self.message_user(request, reason, level=messages.WARNING)

    @admin.action(description="Submit for review", permissions=["submit"])
    def submit_for_review(self, request, queryset):
        self._run(request, queryset, campaign_submit_for_review, "submitted for review")

    @admin.action(description="Approve and publish", permissions=["publish"])
    def approve_and_publish(self, request, queryset):
        self._run(request, queryset, campaign_approve, "approved and published")

    @admin.action(description="Send back to the organizers with a reason", permissions=["publish"])
    def send_back(self, request, queryset):
        form = SendBackForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._run(
                request,
                queryset,
                campaign_send_back,
                "sent back",
                reason=form.cleaned_data["reason"],
            )
            return None
        return self._send_back_page(request, queryset, form, via_action=True)

    def _send_back_page(self, request, campaigns, form, *, via_action: bool):
        return TemplateResponse(
            request,
            "campaigns/admin/send_back.html",
            {
                **self.admin_site.each_context(request),
                "title": "Send campaigns back to their organizers",
                "campaigns": campaigns,
                "form": form,
                "via_action": via_action,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "changelist_url": reverse("admin:campaigns_campaign_changelist"),
            },
        )

    # --- the same workflow as buttons on a campaign's own page ---------------------------
    change_form_template = "campaigns/admin/campaign_change_form.html"

    def get_urls(self):
        def view(fn):
            return self.admin_site.admin_view(fn)

        return [
            path(
                "<path:object_id>/submit/", view(self.submit_view), name="campaigns_campaign_submit"
            ),
            path(
                "<path:object_id>/approve/",
                view(self.approve_view),
                name="campaigns_campaign_approve",
            ),
            path(
                "<path:object_id>/send-back/",
                view(self.send_back_view),
                name="campaigns_campaign_send_back",
            ),
            path(
                "<path:object_id>/preview/",
                view(self.preview_view),
                name="campaigns_campaign_preview",
            ),
            path(
                "<path:object_id>/extend-deadline/",
                view(self.extend_deadline_view),
                name="campaigns_campaign_extend_deadline",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        """The public page as it stands, for the live preview on the campaign's admin page:
        the only way the campaign page may be framed, and only by our own admin."""
        from campaigns.views import detail

        campaign = self.get_object(request, object_id)  # 404 for another organization's
        response = detail(request, slug=campaign.slug)
        response["X-Frame-Options"] = "SAMEORIGIN"
        response._csp_replace = {"frame-ancestors": ["'self'"]}
        response["Cache-Control"] = "no-store"
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == C.DRAFT:
            context["checklist"] = campaign_review_checklist(obj)
            context["checklist_open"] = sum(1 for item in context["checklist"] if not item.done)
        if obj is not None:
            context["workflow"] = {
                "can_submit": obj.status == C.DRAFT and self.has_change_permission(request, obj),
                "can_review": obj.status == C.IN_REVIEW and self.has_publish_permission(request),
                "waiting": obj.status == C.IN_REVIEW and not self.has_publish_permission(request),
                "can_extend": campaign_is_open(obj) and self.has_publish_permission(request),
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _workflow_object(self, request, object_id, *, publish: bool):
        campaign = self.get_object(request, object_id)  # 404 for another organization's
        allowed = (
            self.has_publish_permission(request)
            if publish
            else self.has_change_permission(request, campaign)
        )
        if not allowed:
            raise PermissionDenied
        return campaign

    def _back_to(self, campaign):
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))

    def submit_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = self._workflow_object(request, object_id, publish=False)
        self._run(request, [campaign], campaign_submit_for_review, "submitted for review")
        return self._back_to(campaign)

    def approve_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = self._workflow_object(request, object_id, publish=True)
        self._run(request, [campaign], campaign_approve, "approved and published")
        return self._back_to(campaign)

    def send_back_view(self, request, object_id):
        campaign = self._workflow_object(request, object_id, publish=True)
        form = SendBackForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            self._run(
                request,
                [campaign],
                campaign_send_back,
                "sent back",
                reason=form.cleaned_data["reason"],
            )
            return self._back_to(campaign)
        return self._send_back_page(request, [campaign], form, via_action=False)

    def extend_deadline_view(self, request, object_id):
        """Platform staff give a live campaign more time (supporters are emailed)."""
        campaign = self._workflow_object(request, object_id, publish=True)
        form = ExtendDeadlineForm(
            request.POST if request.method == "POST" else None, campaign=campaign
        )
        problem = ""
        if campaign.status != C.LIVE:
            problem = (
                f"“{campaign.title}” is {campaign.get_status_display().lower()}: only a live "
                "campaign's deadline can be extended."
            )
        elif not campaign_is_open(campaign):
            problem = "The deadline already passed; the totals are frozen for settlement."
        if not problem and form.is_bound and form.is_valid():
            try:
                told = campaign_extend_deadline(
                    campaign=campaign,
                    new_deadline=form.cleaned_data["new_deadline"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except DeadlineNotExtendable as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Deadline extended to {campaign.deadline_display}. "
                    f"{told:,} supporters are being emailed.",
                    level=messages.SUCCESS,
                )
                return self._back_to(campaign)
        return TemplateResponse(
            request,
            "campaigns/admin/extend_deadline.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Extend the deadline: {campaign.title}",
                "campaign": campaign,
                "form": form if not problem else None,
                "problem": problem,
                "opts": self.model._meta,
                "change_url": reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
                "changelist_url": reverse("admin:campaigns_campaign_changelist"),
            },
        )


@admin.register(Organization)
class OrganizationAdmin(BothLanguagesMixin, OwnFieldsSaveMixin, admin.ModelAdmin):
    form = OrganizationAdminForm
    formfield_overrides = URL_FIELDS
    list_display = ["name", "website", "campaign_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]
    readonly_fields = ["logo_preview"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "slug",
                    "logo_preview",
                    "logo",
                    "website",
                    "address",
                    "phone",
                    "about",
                    "members",
                ]
            },
        ),
        (
            "In Spanish (en español)",
            {
                "fields": spanish("about"),
                "description": "Leave it empty to show the English text there.",
            },
        ),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if user_is_platform_staff(request.user):
            return qs
        return qs.filter(pk__in=user_organization_ids(request.user))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No organization with that id that you can edit.")
        return obj

    def get_readonly_fields(self, request, obj=None):
        if user_is_platform_staff(request.user):
            return self.readonly_fields
        # Organizers edit their profile, not who belongs to it.
        return [*self.readonly_fields, "slug", "members"]

    def get_prepopulated_fields(self, request, obj=None):
        # A read-only slug has no input to fill in (prepopulating it crashed the page).
        if "slug" in self.get_readonly_fields(request, obj):
            return {}
        return self.prepopulated_fields

    def has_add_permission(self, request):
        return user_is_platform_staff(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return user_is_platform_staff(request.user) and super().has_delete_permission(request, obj)

    @admin.display(description="Campaigns")
    def campaign_count(self, obj):
        return obj.campaigns.count()

    @admin.display(description="Current logo")
    def logo_preview(self, obj):
        image = obj.logo_small or obj.logo
        if not image:
            return "No logo yet."
        return format_html(
            '<img src="{}" alt="{} logo" style="max-height:80px;width:auto">', image.url, obj.name
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "logo" in form.changed_data:
            previous = form.initial.get("logo")
            organization_logo_refresh(
                organization=obj, previous_name=getattr(previous, "name", None)
            )


@admin.register(IssueArea)
class IssueAreaAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
