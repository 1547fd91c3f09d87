"""Platform staff review applications to run campaigns. Organizers never see this screen."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from campaigns.selectors import user_is_platform_staff
from organizers import services
from organizers.forms import DeclineForm
from organizers.models import OrganizationApplication

A = OrganizationApplication.Status


@admin.register(OrganizationApplication)
class OrganizationApplicationAdmin(admin.ModelAdmin):
    list_display = ["organization_name", "contact_name", "contact_email", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["organization_name", "contact_name", "contact_email"]
    change_form_template = "organizers/admin/application_change_form.html"
    fields = [
        "organization_name",
        "contact_name",
        "contact_email",
        "website",
        "about",
        "status",
        "decline_reason",
        "reviewed_by",
        "reviewed_at",
        "organization",
        "created_at",
    ]
    readonly_fields = fields

    # Staff only; everything on the record is what the applicant typed or what review decided.
    def _staff(self, request) -> bool:
        return user_is_platform_staff(request.user)

    def has_module_permission(self, request):
        return self._staff(request)

    def has_view_permission(self, request, obj=None):
        return self._staff(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was applied for and what review decided

    def get_urls(self):
        def view(fn):
            return self.admin_site.admin_view(fn)

        return [
            path(
                "<path:object_id>/approve/",
                view(self.approve_view),
                name="organizers_organizationapplication_approve",
            ),
            path(
                "<path:object_id>/decline/",
                view(self.decline_view),
                name="organizers_organizationapplication_decline",
            ),
            *super().get_urls(),
        ]

    def _application(self, request, object_id) -> OrganizationApplication:
        if not self._staff(request):
            raise PermissionDenied
        application = self.get_object(request, object_id)
        if application is None:
            raise Http404(_("No such application."))
        return application

    def _back(self, application):
        return HttpResponseRedirect(
            reverse("admin:organizers_organizationapplication_change", args=[application.pk])
        )

    def approve_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        application = self._application(request, object_id)
        try:
            organization = services.application_approve(application=application, actor=request.user)
        except services.ApplicationNotPending as exc:
            self.message_user(request, str(exc), level=messages.WARNING)
        else:
            self.message_user(
                request,
                _("Approved: %(org)s was created and %(email)s was emailed an invitation.")
                % {"org": organization.name, "email": application.contact_email},
                level=messages.SUCCESS,
            )
        return self._back(application)

    def decline_view(self, request, object_id):
        application = self._application(request, object_id)
        form = DeclineForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                services.application_decline(
                    application=application,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except services.ApplicationNotPending as exc:
                self.message_user(request, str(exc), level=messages.WARNING)
            else:
                self.message_user(
                    request,
                    _("Declined; %(email)s was emailed the reason.")
                    % {"email": application.contact_email},
                    level=messages.SUCCESS,
                )
            return self._back(application)
        return TemplateResponse(
            request,
            "organizers/admin/decline.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Decline the application from %(org)s")
                % {"org": application.organization_name},
                "application": application,
                "form": form,
                "opts": self.model._meta,
                "change_url": reverse(
                    "admin:organizers_organizationapplication_change", args=[application.pk]
                ),
            },
            status=400 if form.is_bound else 200,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_review"] = obj is not None and obj.status == A.PENDING and self._staff(request)
        return super().render_change_form(request, context, add, change, form_url, obj)
