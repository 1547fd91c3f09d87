"""An organization asking to run campaigns here, and the invitation that follows approval.

Nothing is created for an applicant before platform staff approve: the application is a record of
what they typed. Approval creates the Organization and an invitation; the organizer account is
made only when someone opens the emailed invitation, which proves they own the address.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.models import Organization, TimeStamped


class OrganizationApplication(TimeStamped):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting review")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    organization_name = models.CharField(_("organization name"), max_length=200)
    contact_name = models.CharField(_("your name"), max_length=120)
    contact_email = models.EmailField(_("your email"))
    website = models.URLField(_("website"), blank=True)
    about = models.TextField(_("what the campaign is about"), max_length=4000)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    decline_reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    organization = models.OneToOneField(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="application",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("organization application")
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.organization_name


class OrganizerInvitation(TimeStamped):
    """A one-time link to join an organization as an organizer. Only the token's hash is kept."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    name = models.CharField(max_length=120, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
