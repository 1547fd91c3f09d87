"""Saved cards for the demo pledges of `make run`, so its demo campaigns can be settled end to end.

`seed_demo` writes pledges straight into the database, and `make run` starts localstripe from
scratch every time, so the demo pledges' customers and cards do not exist at the Stripe that
would charge them: approving a demo campaign sent every pledge to staff review. After
localstripe answers, `manage.py demo_cards` gives every demo pledge that can still be charged a
4242 card saved at it (one card shared by all of them: one Stripe call to check, four to make).
Real Stripe is refused by the gateway. Safe to run again: pledges whose card is there are left
alone.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from pledges import gateway
from pledges.models import Pledge, PledgeEvent
from supporters.models import DEMO_SOURCE  # reserved: tracking never writes it

S = Pledge.Status
DEMO_CARD_EMAIL = "demo-supporters@example.org"
# Pledges that may still be charged (or charged again by staff after review).
CHARGEABLE = (S.ACTIVE, S.CHARGE_DUE, S.CHARGING, S.RETRY_DUE, S.NEEDS_REVIEW)


def demo_pledges_cards_ensure() -> int:
    """Give demo pledges whose saved card is missing at Stripe a working test card. Returns how
    many pledges got one (0 when every card is already there)."""
    pledges = Pledge.objects.filter(supporter__source=DEMO_SOURCE, status__in=CHARGEABLE)
    pairs = set(pledges.values_list("stripe_customer_id", "stripe_payment_method_id"))
    missing = [
        (customer, pm)
        for customer, pm in sorted(pairs)
        if not gateway.payment_method_usable(payment_method_id=pm, customer_id=customer)
    ]
    if not missing:
        return 0
    customer_id, pm_id, card = gateway.demo_card_save(email=DEMO_CARD_EMAIL)
    total = 0
    for customer, pm in missing:
        with transaction.atomic():
            ids = list(
                pledges.filter(stripe_customer_id=customer, stripe_payment_method_id=pm)
                .select_for_update()
                .values_list("pk", flat=True)
            )
            Pledge.objects.filter(pk__in=ids).update(
                stripe_customer_id=customer_id,
                stripe_payment_method_id=pm_id,
                card_brand=card.brand or "visa",
                card_last4=card.last4 or "4242",
                updated_at=timezone.now(),
            )
            PledgeEvent.objects.bulk_create(
                PledgeEvent(
                    pledge_id=pk,
                    from_status=status,
                    to_status=status,
                    actor_label="demo_cards",
                    note="Demo data: a 4242 test card saved at the local Stripe.",
                    stripe_object_id=pm_id,
                )
                for pk, status in Pledge.objects.filter(pk__in=ids).values_list("pk", "status")
            )
        total += len(ids)
    return total
