"""Pledges and the money that moves for them.

A Pledge is a promise (a saved card and an amount); a PaymentAttempt is one try to collect it,
with its own deterministic idempotency key and outcome. Money disputes are settled by history:
every transition appends a PledgeEvent in the same transaction as the change.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Tier, TimeStamped
from supporters.models import Supporter


def _token() -> str:
    return secrets.token_urlsafe(24)


class Pledge(TimeStamped):
    class Status(models.TextChoices):
        PENDING_SETUP = "pending_setup", _("Waiting for card")
        ACTIVE = "active", _("Active")
        CANCELED = "canceled", _("Canceled")
        RELEASED = "released", _("Released (campaign did not succeed)")
        CHARGE_DUE = "charge_due", _("Charge due")
        CHARGING = "charging", _("Charging")
        ACTION_REQUIRED = "action_required", _("Needs supporter authentication")
        RETRY_DUE = "retry_due", _("Retry scheduled")
        NEEDS_NEW_METHOD = "needs_new_method", _("Needs a new card")
        NEEDS_REVIEW = "needs_review", _("Needs staff review")
        PAID = "paid", _("Paid")
        UNPAID = "unpaid", _("Unpaid (grace over)")
        REFUNDED = "refunded", _("Refunded")
        DISPUTED = "disputed", _("Disputed")

    # No index of its own: pledge_campaign_status_id leads with the campaign (issue 14: every
    # index is rewritten by each bulk UPDATE of a million pledges).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="pledges", db_index=False
    )
    supporter = models.ForeignKey(Supporter, on_delete=models.PROTECT, related_name="pledges")
    tier = models.CharField(max_length=16, choices=Tier.Kind.choices)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    # Indexed where it is asked about: (campaign, status, id), (status, next_attempt_at),
    # (status, lease_expires_at) all lead with it.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_SETUP)
    # The form's one-time key: a replayed or double-clicked form finds this row instead of
    # creating a second pledge.
    form_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    token = models.CharField(max_length=64, unique=True, default=_token)

    stripe_customer_id = models.CharField(max_length=64, blank=True)
    stripe_setup_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    stripe_payment_method_id = models.CharField(max_length=64, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    # The saved card's expiry, read from Stripe with it: a card that lapses before the deadline
    # is a charge at risk, and its owner is asked for a new one in time.
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)

    # Collection.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    grace_ends_at = models.DateTimeField(null=True, blank=True)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    paid_cents = models.PositiveIntegerField(default=0)
    refunded_cents = models.PositiveIntegerField(default=0)
    paid_at = models.DateTimeField(null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One live pledge per supporter per campaign; a canceled one may be followed by another.
            models.UniqueConstraint(
                fields=["campaign", "supporter"],
                condition=~Q(status="canceled"),
                name="pledge_one_live_per_supporter",
            ),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="pledge_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_cents__lte=models.F("paid_cents")),
                name="pledge_refund_within_paid",
            ),
        ]
        indexes = [
            # Keyset chunks of one campaign's pledges in one state (marking due, releasing,
            # fan-out) read an index range, never the campaign's whole set: issue 14.
            models.Index(fields=["campaign", "status", "id"], name="pledge_campaign_status_id"),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"Pledge #{self.pk} {self.amount_cents}¢ {self.status}"


# Sets of pledge states the code asks about, each named once (the state machine itself,
# ALLOWED_TRANSITIONS, is in pledges/services/transitions.py).
_S = Pledge.Status
# A supporter holds at most one of these per campaign (every state but canceled).
LIVE_STATUSES = frozenset(_S) - {_S.CANCELED}
# Before the deadline: the supporter may still change or cancel it.
OPEN_STATUSES = frozenset({_S.PENDING_SETUP, _S.ACTIVE})
# The supporter is asked to act (3-D Secure, a new card): the grace clock runs, and they may
# pay on-session until it ends.
AWAITING_SUPPORTER = frozenset({_S.ACTION_REQUIRED, _S.NEEDS_NEW_METHOD})
# States from which a succeeded PaymentIntent makes the pledge PAID.
PAYABLE = frozenset(
    {_S.CHARGE_DUE, _S.CHARGING, _S.RETRY_DUE, _S.ACTION_REQUIRED, _S.NEEDS_NEW_METHOD}
    | {_S.NEEDS_REVIEW, _S.UNPAID}
)
# Money was taken and not all given back.
REFUNDABLE = frozenset({_S.PAID, _S.DISPUTED})


class PledgeEvent(models.Model):
    """One line of a pledge's history. Never updated, never deleted.

    `source` says who or what made it and `kind` what it records, so history can be queried
    ("every staff decision", "every card change") without reading the notes."""

    class Source(models.TextChoices):
        SUPPORTER = "supporter", _("Supporter")
        STAFF = "staff", _("Platform staff")
        SETTLEMENT = "settlement", _("Settlement task")
        WEBHOOK = "webhook", _("Stripe webhook")
        RECONCILER = "reconciler", _("Reconciler")
        GRACE = "grace", _("Grace period task")
        SYSTEM = "system", _("System")

    class Kind(models.TextChoices):
        STATUS_CHANGED = "status_changed", _("Status changed")
        PLEDGE_CHANGED = "pledge_changed", _("Pledge made or changed")
        CARD = "card", _("Card")
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")
        REMINDER = "reminder", _("Reminder sent")
        NOTE = "note", _("Note")

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.SYSTEM, db_index=True
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NOTE, db_index=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=80, blank=True, help_text=_("e.g. 'webhook', 'beat'"))
    note = models.TextField(blank=True)
    stripe_object_id = models.CharField(max_length=64, blank=True)
    code = models.CharField(max_length=64, blank=True)
    amount_cents = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]


class PaymentAttempt(TimeStamped):
    """One try at collecting a pledge, keyed so that repeating it can never charge twice."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("No answer yet")
        SUCCEEDED = "succeeded", _("Succeeded")
        REQUIRES_ACTION = "requires_action", _("Needs authentication")
        SOFT_DECLINE = "soft_decline", _("Declined (will retry)")
        HARD_DECLINE = "hard_decline", _("Declined (needs new card)")
        INVALID = "invalid", _("Invalid request (staff review)")
        CANCELED = "canceled", _("Canceled")

    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=80, unique=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    stripe_payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    error_code = models.CharField(max_length=64, blank=True)
    decline_code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    on_session = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pledge_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["pledge", "number"], name="attempt_number_once"),
        ]


class Refund(TimeStamped):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=80, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=64, blank=True, db_index=True)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class StripeEvent(models.Model):
    """A webhook event received; the unique id makes a replay a no-op."""

    event_id = models.CharField(max_length=80, unique=True)
    type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=80, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]


class CampaignSettlement(Campaign):
    """A campaign seen from settlement: the admin's approve/reject actions, report and refunds
    hang off this proxy so they live beside the money, not in the organizer screens."""

    class Meta:
        proxy = True
        verbose_name = "settlement"
        verbose_name_plural = "settlements"
