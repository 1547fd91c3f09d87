"""Keys for the organizers' API and the webhook endpoints they register.

An ApiKey belongs to one organization: every request made with it sees that organization's data
only. The key itself is shown once, when it is made; we keep its SHA-256 (a random 32-byte
token needs no slow hash) and an 8-character prefix to find the row.

Outgoing webhooks: a WebhookEvent is one thing that happened (its `event_id` is the
`webhook-id` the receiver deduplicates on); a WebhookDelivery is that event for one endpoint,
retried until it succeeds or a day has passed; each try is a WebhookAttempt row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.models import Organization

# Events an endpoint may subscribe to (the `type` of each payload).
EVENT_TYPES = (
    ("supporter.created", _("Supporter created")),
    ("supporter.confirmed", _("Supporter confirmed")),
    ("supporter.left", _("Supporter left")),
    ("pledge.created", _("Pledge created (card saved)")),
    ("pledge.changed", _("Pledge changed")),
    ("pledge.canceled", _("Pledge canceled")),
    ("pledge.paid", _("Pledge paid")),
    ("pledge.failed", _("Pledge charge failed")),
    ("pledge.refunded", _("Pledge refunded")),
    ("campaign.published", _("Campaign published")),
    ("campaign.succeeded", _("Campaign succeeded")),
    ("campaign.failed", _("Campaign failed")),
    ("action.taken", _("Action taken (call, email, petition)")),
    ("rsvp.created", _("RSVP to an event")),
)
EVENT_TYPE_NAMES = frozenset(name for name, _label in EVENT_TYPES)


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("Read")
        READ_WRITE = "read_write", _("Read and write")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("name"), max_length=80, help_text=_("e.g. “Our CRM sync”."))
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiRequestLog(models.Model):
    """One API request: which key (by name, kept if the key is deleted), what, and the answer."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_requests"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    key_name = models.CharField(max_length=80)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API request")
        verbose_name_plural = _("API requests")

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code}"


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # ",type,type," so one portable `contains` finds the endpoints of a type (SQLite locally).
    events = models.TextField(_("events"), default=",")
    secret = models.CharField(max_length=80, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    @property
    def event_list(self) -> list[str]:
        return [e for e in self.events.split(",") if e]


class WebhookEvent(models.Model):
    event_id = models.CharField(max_length=64, unique=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_events"
    )
    type = models.CharField(max_length=40)
    # The supporter, pledge, campaign or action completion the event is about: each POST builds
    # its data from it as it is then (consent withdrawn since is honoured on every retry).
    object_id = models.BigIntegerField(null=True, blank=True)
    # The envelope as first recorded (for staff to look at); not what a retry sends.
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Gave up")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: the status it got (or the error) and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery_id", "number"]
