"""Organizer screens for bills and resources, scoped like actions/admin.py: organizers see and
edit only their own organization's campaigns' bills and resources (another organization's by
URL is a 404), platform staff see all. A bill's status moves only through
`congress.services.bill_status_change`; "Announce" writes a draft campaign update for the
organizer to publish. Members of Congress and ZIP codes are public data loaded by
`manage.py congress_load`: read-only here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import dateformat
from django.utils.translation import gettext_lazy as _

from actions.models import Action
from campaigns.admin_bounds import ReadOnlyRowsFormSet
from campaigns.admin_languages import BothLanguagesMixin, spanish
from campaigns.admin_scope import CampaignScopedAdminMixin
from campaigns.selectors import campaigns_editable_by, user_can_edit_campaign
from congress.models import (
    Bill,
    BillStatusChange,
    CampaignResource,
    CongressDataLoad,
    Legislator,
    ZipDistricts,
)
from congress.services import bill_status_announce, bill_status_change, campaign_page_touch

URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


class OwnCampaignAdmin(BothLanguagesMixin, CampaignScopedAdminMixin, admin.ModelAdmin):
    """Rows that belong to a campaign: organizers get their own organization's only. The
    campaign's public page shows them, so each change redraws it. The texts organizers write
    are edited in English and, in their own section, in Spanish (as on the campaign)."""

    spanish_fields: tuple[str, ...] = ()

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": self.get_fields(request, obj)}),
            (
                "In Spanish (en español)",
                {
                    "fields": spanish(*self.spanish_fields),
                    "description": "Leave a text empty to show the English one there.",
                },
            ),
        ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        campaign_page_touch(campaign_id=obj.campaign_id)

    def delete_model(self, request, obj):
        campaign_id = obj.campaign_id
        super().delete_model(request, obj)
        campaign_page_touch(campaign_id=campaign_id)

    def delete_queryset(self, request, queryset):
        campaign_ids = set(queryset.values_list("campaign_id", flat=True))
        super().delete_queryset(request, queryset)
        for campaign_id in campaign_ids:
            campaign_page_touch(campaign_id=campaign_id)


class BillAdminForm(forms.ModelForm):
    new_status = forms.ChoiceField(
        label=_("New status"),
        choices=[("", "—")] + list(Bill.Status.choices),
        required=False,
        help_text=_("Recorded in the bill's history; you can then announce it as an update."),
    )
    new_status_date = forms.DateField(label=_("New status since"), required=False)

    class Meta:
        model = Bill
        fields = [
            "campaign",
            "number",
            "title",
            "chamber",
            "status",
            "status_date",
            "our_position",
            "what_it_would_do",
            "text_url",
            "sponsors",
            "actions",
            "position",
        ]

    def clean(self):
        data = super().clean()
        campaign = data.get("campaign") or getattr(self.instance, "campaign", None)
        for action in data.get("actions") or []:
            if campaign is not None and action.campaign_id != campaign.pk:
                self.add_error("actions", _("Choose actions of the bill's own campaign."))
                break
        if data.get("new_status") and not data.get("new_status_date"):
            self.add_error("new_status_date", _("When did the status change?"))
        return data


class BillStatusChangeInline(admin.TabularInline):
    model = BillStatusChange
    formset = ReadOnlyRowsFormSet
    extra = 0
    can_delete = False
    fields = ["from_status", "to_status", "status_date", "changed_by", "created_at", "announced"]
    readonly_fields = fields
    verbose_name_plural = _("Status history")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return obj is None or user_can_edit_campaign(request.user, obj.campaign)

    @admin.display(description=_("announced"))
    def announced(self, obj):
        return obj.announced_update or "—"


@admin.register(Bill)
class BillAdmin(OwnCampaignAdmin):
    form = BillAdminForm
    formfield_overrides = URL_FIELDS
    list_display = ["number", "title", "campaign", "status", "status_date"]
    list_filter = ["status", "chamber"]
    search_fields = ["number", "title", "campaign__title"]
    # Django's filter_horizontal and autocomplete widgets fail axe (an aria-label on a span, an
    # unlabelled search box): sponsors are a plain labelled multiple select (type a name to
    # jump to it), and a campaign's handful of actions are checkboxes.
    inlines = [BillStatusChangeInline]
    actions = ["announce_selected"]
    change_form_template = "congress/admin/bill_change_form.html"
    # The number, official title and sponsors are Congress's record: not translated.
    spanish_fields = ("what_it_would_do",)

    def get_fields(self, request, obj=None):
        fields = [
            "campaign",
            "number",
            "title",
            "chamber",
            "our_position",
            "what_it_would_do",
            "text_url",
            "sponsors",
            "actions",
            "position",
        ]
        if obj is None:
            return [*fields[:4], "status", "status_date", *fields[4:]]
        return [*fields[:4], "current_status", "new_status", "new_status_date", *fields[4:]]

    def get_readonly_fields(self, request, obj=None):
        return ["current_status"] if obj is not None else []

    @admin.display(description=_("Status"))
    def current_status(self, obj):
        return f"{obj.get_status_display()} ({dateformat.format(obj.status_date, 'F j, Y')})"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "sponsors":
            kwargs["queryset"] = Legislator.objects.filter(in_office=True).order_by(
                "last_name", "name"
            )
            kwargs["widget"] = forms.SelectMultiple(attrs={"size": 12})
        if db_field.name == "actions":
            kwargs["queryset"] = Action.objects.filter(
                campaign__in=campaigns_editable_by(request.user)
            ).select_related("campaign")
            kwargs["widget"] = forms.CheckboxSelectMultiple
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "sponsors":
            # Last name first, so typing a name in the list jumps to it.
            field.label_from_instance = lambda m: (
                f"{m.last_name}, {m.name} — {m.title}, {m.seat_label}"
            )
        return field

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            BillStatusChange.objects.create(
                bill=obj, to_status=obj.status, status_date=obj.status_date, changed_by=request.user
            )
        elif form.cleaned_data.get("new_status"):
            bill_status_change(
                bill=obj,
                status=form.cleaned_data["new_status"],
                status_date=form.cleaned_data["new_status_date"],
                user=request.user,
            )

    def _announce(self, request, bill):
        update = bill_status_announce(bill=bill, user=request.user)
        self.message_user(
            request,
            _("A draft update about %(bill)s is ready: check it and publish it.")
            % {"bill": bill.number},
            messages.SUCCESS,
        )
        return update

    @admin.action(description=_("Write a draft update announcing the selected bills' status"))
    def announce_selected(self, request, queryset):
        for bill in queryset:
            if self.has_change_permission(request, bill):
                self._announce(request, bill)

    def response_change(self, request, obj):
        if "_announce" in request.POST:
            update = self._announce(request, obj)
            return HttpResponseRedirect(
                reverse("admin:outreach_campaignupdate_change", args=[update.pk])
            )
        return super().response_change(request, obj)


@admin.register(CampaignResource)
class CampaignResourceAdmin(OwnCampaignAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["title", "campaign", "kind", "phone", "position"]
    list_editable = ["position"]
    list_filter = ["kind"]
    search_fields = ["title", "campaign__title"]
    fields = ["campaign", "kind", "title", "description", "phone", "phone_note", "url", "position"]
    spanish_fields = ("title", "description", "phone_note")


class ReadOnlyDataAdmin(admin.ModelAdmin):
    """Public data, replaced only by `manage.py congress_load`."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Legislator)
class LegislatorAdmin(ReadOnlyDataAdmin):
    list_display = ["name", "chamber", "seat", "party", "phone", "in_office"]
    list_filter = ["chamber", "in_office", "state"]
    search_fields = ["name", "last_name", "bioguide", "state"]

    @admin.display(description=_("seat"), ordering="state")
    def seat(self, obj):
        return obj.seat_label


@admin.register(ZipDistricts)
class ZipDistrictsAdmin(ReadOnlyDataAdmin):
    list_display = ["zip_code", "districts"]
    search_fields = ["zip_code"]


@admin.register(CongressDataLoad)
class CongressDataLoadAdmin(ReadOnlyDataAdmin):
    list_display = ["loaded_at", "source", "legislators", "zip_codes"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
