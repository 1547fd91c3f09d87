"""Organizers' screens for API keys and webhook endpoints (their own organization's only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from api.models import EVENT_TYPES, ApiKey, WebhookEndpoint
from api.services import api_key_create, api_key_revoke
from api.webhooks import (
    webhook_endpoint_rotate_secret,
    webhook_endpoint_save,
    webhook_url_validate,
)
from campaigns.models import Organization
from campaigns.selectors import user_is_platform_staff, user_organization_ids


def _may_use(user) -> bool:
    return user_is_platform_staff(user) or bool(
        user.is_active and user.is_staff and user_organization_ids(user)
    )


def _organizations(user):
    if user_is_platform_staff(user):
        return Organization.objects.all()
    return Organization.objects.filter(pk__in=user_organization_ids(user))


def _secrets_page(model_admin, request, *, title, lead, how, secrets):
    """A new key or secret shown in this answer only: not in a message (the messages cookie is
    signed, not encrypted), not on any later page, and not kept by a cache."""
    opts = model_admin.model._meta
    response = TemplateResponse(
        request,
        "admin/api/secret_shown.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "lead": lead,
            "how": how,
            "secrets": secrets,
            "back_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        },
    )
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, " + response["Cache-Control"]
    return response


def _when(value) -> str:
    if value is None:
        return "—"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


class _OwnOrganizationAdmin(admin.ModelAdmin):
    """Organizers see and manage their own organizations' rows; platform staff everyone's."""

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("organization")
        if user_is_platform_staff(request.user):
            return qs
        return qs.filter(organization__in=user_organization_ids(request.user))

    def has_module_permission(self, request):
        return _may_use(request.user)

    def has_view_permission(self, request, obj=None):
        return _may_use(request.user)

    def has_add_permission(self, request):
        return _may_use(request.user)

    def has_change_permission(self, request, obj=None):
        return _may_use(request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization":
            kwargs["queryset"] = _organizations(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ApiKey)
class ApiKeyAdmin(_OwnOrganizationAdmin):
    list_display = ("name", "organization", "scope", "key_hint", "last_used", "state")
    list_filter = ("scope",)
    search_fields = ("name", "prefix")
    actions = ["revoke_selected"]

    @admin.display(description=gettext_lazy("key"))
    def key_hint(self, obj):
        return f"rr_{obj.prefix}_…"

    @admin.display(description=gettext_lazy("created"))
    def created(self, obj):
        return _when(obj.created_at)

    @admin.display(description=gettext_lazy("last used"))
    def last_used(self, obj):
        return _when(obj.last_used_at)

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj):
        if obj.revoked_at:
            return _("Revoked %(when)s") % {"when": _when(obj.revoked_at)}
        return _("Active")

    @admin.display(description=gettext_lazy("recent requests"))
    def recent_requests(self, obj):
        rows = obj.requests.order_by("-created_at")[:20]
        if not rows:
            return _("No requests yet.")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("When"),
            _("Request"),
            _("Status"),
            _("Time"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{} ms</td></tr>",
                (
                    (_when(r.created_at), r.method, r.path, r.status_code, r.duration_ms)
                    for r in rows
                ),
            ),
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("organization", "name", "scope")
        return (
            "organization",
            "name",
            "scope",
            "key_hint",
            "created",
            "created_by",
            "last_used",
            "state",
            "recent_requests",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "organization",
            "scope",
            "key_hint",
            "created",
            "created_by",
            "last_used",
            "state",
            "recent_requests",
        )

    def save_model(self, request, obj, form, change):
        if change:
            ApiKey.objects.filter(pk=obj.pk).update(name=obj.name)
            return
        key, raw = api_key_create(
            organization=obj.organization,
            name=obj.name,
            scope=obj.scope,
            created_by=request.user,
        )
        for field in ("pk", "prefix", "key_hash", "created_at", "created_by_id"):
            setattr(obj, field, getattr(key, field))
        request._rallyround_new_key = raw  # for response_add, this request only

    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(request, "_rallyround_new_key", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        return _secrets_page(
            self,
            request,
            title=_("Your new API key"),
            lead=_("Copy this key now: it is shown only this once."),
            how=_("Send it in the OSDI-API-Token header."),
            secrets=[(obj.name, raw)],
        )

    @admin.action(description=gettext_lazy("Revoke selected keys (they stop working at once)"))
    def revoke_selected(self, request, queryset):
        revoked = sum(api_key_revoke(key=key) for key in queryset)
        messages.success(request, _("%(n)d key(s) revoked.") % {"n": revoked})


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=EVENT_TYPES,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Which events are sent to this endpoint."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("organization", "url", "description", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["event_types"] = self.instance.event_list

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhook_url_validate(url)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_OwnOrganizationAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "organization", "is_active", "events_display", "failing_display")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    actions = ["rotate_secret"]

    @admin.action(
        description=gettext_lazy("Rotate the signing secret (the old one stops working at once)")
    )
    def rotate_secret(self, request, queryset):
        rotated = [
            (endpoint.url, webhook_endpoint_rotate_secret(endpoint=endpoint))
            for endpoint in queryset.order_by("pk")
        ]
        return _secrets_page(
            self,
            request,
            title=_("New signing secrets"),
            lead=_("Copy each new secret now: it is shown only this once."),
            how=_(
                "Deliveries are signed with the new secret from now on; verify each delivery's "
                "webhook-signature header with it (Standard Webhooks)."
            ),
            secrets=rotated,
        )

    @admin.display(description=gettext_lazy("events"))
    def events_display(self, obj):
        return ", ".join(obj.event_list)

    @admin.display(description=gettext_lazy("failing since"))
    def failing_display(self, obj):
        return _when(obj.failing_since) if obj.failing_since else "—"

    @admin.display(description=gettext_lazy("signing secret"))
    def secret_display(self, obj):
        return format_html(
            "<code>whsec_…{}</code><br><span class='help'>{}</span>",
            obj.secret[-4:],
            _(
                "Verify each delivery's webhook-signature header with it (Standard Webhooks). "
                "It was shown once, when the endpoint was made; for a new one, select the "
                "endpoint in the list and choose “Rotate the signing secret”."
            ),
        )

    @admin.display(description=gettext_lazy("disabled"))
    def disabled_display(self, obj):
        if not obj.disabled_at:
            return "—"
        return f"{_when(obj.disabled_at)}: {obj.disabled_reason}"

    @admin.display(description=gettext_lazy("recent deliveries"))
    def recent_deliveries(self, obj):
        rows = obj.deliveries.select_related("event").order_by("-created_at")[:20]
        if not rows:
            return _("Nothing sent yet.")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("When"),
            _("Event"),
            _("Status"),
            _("Tries"),
            _("Last answer"),
            _("Time"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td></tr>",
                (
                    (
                        _when(d.created_at),
                        d.event.type,
                        d.event.event_id,
                        d.get_status_display(),
                        d.attempt_count,
                        d.last_status_code or d.last_error or "—",
                        f"{d.last_response_ms} ms" if d.last_response_ms is not None else "—",
                    )
                    for d in rows
                ),
            ),
        )

    def get_fields(self, request, obj=None):
        fields = ["organization", "url", "description", "event_types", "is_active"]
        if obj is not None:
            fields += ["secret_display", "disabled_display", "recent_deliveries"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("secret_display", "disabled_display", "recent_deliveries")

    def save_model(self, request, obj, form, change):
        saved = webhook_endpoint_save(
            endpoint=WebhookEndpoint.objects.get(pk=obj.pk) if change else None,
            organization=form.cleaned_data["organization"],
            url=form.cleaned_data["url"],
            description=form.cleaned_data.get("description", ""),
            events=form.cleaned_data["event_types"],
            is_active=form.cleaned_data.get("is_active", True),
            actor=request.user,
        )
        obj.pk = saved.pk
        if not change:
            request._rallyround_new_secret = saved.secret  # for response_add, this request only

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_rallyround_new_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return _secrets_page(
            self,
            request,
            title=_("Your endpoint's signing secret"),
            lead=_("Copy this signing secret now: it is shown only this once."),
            how=_("Verify each delivery's webhook-signature header with it (Standard Webhooks)."),
            secrets=[(obj.url, secret)],
        )
