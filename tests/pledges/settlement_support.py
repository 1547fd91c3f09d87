"""Helpers for the settlement tests: real localstripe customers and saved cards, pledges in the
ACTIVE state on top of them, and the ledger check every reliability test ends with.

Cards (localstripe): 4242… succeeds; 4000000000000341 saves but is declined when charged;
4000002760003184 needs 3-D Secure when charged.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import urllib.request

import stripe
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from campaigns.models import Campaign
from pledges import gateway
from pledges.models import PaymentAttempt, Pledge
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory

OK_CARD = "4242424242424242"
DECLINE_CARD = "4000000000000341"
THREE_DS_CARD = "4000002760003184"

_seq = itertools.count(1)


def stripe_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )


def saved_card(number: str = OK_CARD) -> tuple[str, str]:
    """A localstripe Customer with a card saved the way the pledge flow saves it (SetupIntent
    for off-session use, confirmed, card attached). Returns (customer_id, payment_method_id)."""
    n = next(_seq)
    customer_id = gateway.customer_create(email=f"card{n}@example.org")
    client = stripe_client()
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    setup = gateway.setup_intent_create(customer_id=customer_id, metadata={"test": str(n)})
    client.v1.setup_intents.confirm(setup.id, params={"payment_method": pm.id})
    gateway.payment_method_attach(payment_method_id=pm.id, customer_id=customer_id)
    return customer_id, pm.id


def campaign_ending(*, goal_cents: int = 5000, in_minutes: int = 5, **kw) -> Campaign:
    return CampaignFactory(
        goal_cents=goal_cents,
        deadline=timezone.now() + dt.timedelta(minutes=in_minutes),
        **kw,
    )


def active_pledge(
    campaign: Campaign,
    *,
    card: tuple[str, str] | None = None,
    number: str = OK_CARD,
    amount_cents: int = 2000,
    email: str | None = None,
) -> Pledge:
    """An ACTIVE pledge with a real saved card (counted in the campaign's totals the way the
    pledge flow counts it)."""
    customer_id, pm_id = card or saved_card(number)
    supporter = SupporterFactory(
        campaign=campaign, email=email or f"backer{next(_seq)}@example.org", tier="advocate"
    )
    pledge = PledgeFactory(
        campaign=campaign,
        supporter=supporter,
        amount_cents=amount_cents,
        status=Pledge.Status.ACTIVE,
        stripe_customer_id=customer_id,
        stripe_payment_method_id=pm_id,
        card_brand="visa",
        card_last4=(number or OK_CARD)[-4:],
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        pledged_cents=campaign.pledged_cents + amount_cents,
        backer_count=campaign.backer_count + 1,
        collecting_count=campaign.collecting_count + 1,
    )
    campaign.refresh_from_db()
    return pledge


def assert_ledger_clean(chaos, campaign: Campaign | None = None) -> dict:
    """The end of every reliability test: nobody charged twice, every pledge of a succeeded
    campaign PAID or in a recorded failure state, totals equal to the sum of PAID attempts and
    to what Stripe really charged."""
    ledger = chaos.ledger()
    assert ledger["double_charged"] == [], ledger["double_charged"]
    charged = {int(pid): pis for pid, pis in ledger["charges_by_metadata"].items() if pis}
    paid = Pledge.objects.filter(
        status__in=[Pledge.Status.PAID, Pledge.Status.REFUNDED, Pledge.Status.DISPUTED]
    )
    assert set(charged) == set(paid.values_list("pk", flat=True))
    for pledge in paid:
        assert charged[pledge.pk] == [pledge.stripe_payment_intent_id]
        succeeded = pledge.attempts.filter(outcome=PaymentAttempt.Outcome.SUCCEEDED)
        assert succeeded.count() == 1
        assert succeeded.get().stripe_payment_intent_id == pledge.stripe_payment_intent_id
        # What we think was refunded is what Stripe refunded.
        assert (
            ledger["payment_intents"][pledge.stripe_payment_intent_id].get("refunded", 0)
            == pledge.refunded_cents
        )
    stripe_total = sum(ledger["payment_intents"][pis[0]]["amount"] for pis in charged.values())
    attempts_total = (
        PaymentAttempt.objects.filter(outcome=PaymentAttempt.Outcome.SUCCEEDED).aggregate(
            s=Sum("amount_cents")
        )["s"]
        or 0
    )
    assert stripe_total == attempts_total
    if campaign is not None:
        campaign.refresh_from_db()
        net = campaign.pledges.aggregate(paid=Sum("paid_cents"), refunded=Sum("refunded_cents"))
        assert campaign.collected_cents == (net["paid"] or 0) - (net["refunded"] or 0)
        if campaign.status == Campaign.Status.SUCCEEDED:
            settled = {
                Pledge.Status.PAID,
                Pledge.Status.ACTION_REQUIRED,
                Pledge.Status.RETRY_DUE,
                Pledge.Status.NEEDS_NEW_METHOD,
                Pledge.Status.NEEDS_REVIEW,
                Pledge.Status.UNPAID,
                Pledge.Status.REFUNDED,
                Pledge.Status.DISPUTED,
                Pledge.Status.RELEASED,
                Pledge.Status.CANCELED,
            }
            stuck = campaign.pledges.exclude(status__in=settled)
            assert not stuck.exists(), list(stuck.values_list("pk", "status"))
    return ledger


def charge_due_campaign(
    staff, *, count: int, number: str = OK_CARD, amount_cents: int = 1500
) -> tuple[Campaign, list[Pledge]]:
    """A campaign past its deadline, frozen, approved, with `count` CHARGE_DUE pledges on one
    real saved card — and nothing queued (the test decides who charges)."""
    import time_machine

    from campaigns.services import campaign_transition
    from pledges.services import settlement

    campaign = campaign_ending(goal_cents=100)
    card = saved_card(number)
    pledges = [
        active_pledge(campaign, card=card, number=number, amount_cents=amount_cents + i)
        for i in range(count)
    ]
    with time_machine.travel(campaign.deadline + dt.timedelta(minutes=1), tick=True):
        settlement.campaign_freeze(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    campaign_transition(
        campaign=campaign,
        to=Campaign.Status.SUCCEEDED,
        expected=Campaign.Status.SETTLING,
        actor=staff,
        note="Approved for collection.",
    )
    settlement.campaign_mark_pledges_due(campaign_id=campaign.pk)
    return campaign, pledges


def signed_webhook(client, *, event_id: str, type: str, obj: dict):
    """POST an event to /stripe/webhook/ signed the way Stripe signs it."""
    import hashlib
    import hmac
    import json
    import time

    payload = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type,
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": obj},
        }
    )
    stamp = int(time.time())
    digest = hmac.new(
        settings.STRIPE_WEBHOOK_SECRET.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={digest}",
    )


def authenticate_3ds(pi_id: str, success: bool) -> None:
    """What Stripe.js does when the supporter clicks in the 3-D Secure dialog (localstripe)."""
    intent = json.loads(
        urllib.request.urlopen(  # the client secret, as the page would have it
            urllib.request.Request(
                f"{settings.STRIPE_API_BASE}/v1/payment_intents/{pi_id}",
                headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
            ),
            timeout=10,
        ).read()
    )
    body = json.dumps(
        {"key": settings.STRIPE_PUBLISHABLE_KEY, "client_secret": intent["client_secret"]}
    ).encode()
    base = settings.STRIPE_JS_URL.split("/js.stripe.com")[0]
    request = urllib.request.Request(
        f"{base}/v1/payment_intents/{pi_id}/_authenticate?success={'true' if success else 'false'}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()
