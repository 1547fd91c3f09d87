"""Account deletion (erasure) for a person with two verified addresses on one campaign.

Login links only one of their rows per campaign (a Supporter row is one per (campaign, user)),
so the erasure must not link the other one too: it raised IntegrityError and rolled back, after
the person's pledges had already been canceled outside the transaction.
"""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from campaigns.models import Campaign
from pledges.models import Pledge
from pledges.services.account_deletion import DELETED_NAME, account_delete
from supporters.models import Supporter
from supporters.services import supporters_link_user
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_erasing_a_person_with_two_addresses_on_one_campaign_erases_both_rows():
    user = UserFactory(email="a@example.org")
    for address in ("a@example.org", "b@example.org"):
        EmailAddress.objects.create(user=user, email=address, verified=True)
    campaign = CampaignFactory()
    row_a = SupporterFactory(campaign=campaign, email="a@example.org", name="Rosa A")
    row_b = SupporterFactory(campaign=campaign, email="b@example.org", name="Rosa B")
    pledge = PledgeFactory(campaign=campaign, supporter=row_b, stripe_payment_method_id="")
    Campaign.objects.filter(pk=campaign.pk).update(pledged_cents=2000, backer_count=1)
    assert supporters_link_user(user=user) == 1  # one row per campaign and account

    result = account_delete(user=user)

    assert result == {"supporters": 2, "pledges_canceled": 1}
    for row in (row_a, row_b):
        row.refresh_from_db()
        assert row.name == DELETED_NAME
        assert row.email == f"deleted-{row.pk}@deleted.invalid"
        assert row.left_at is not None
    assert Supporter.objects.filter(campaign=campaign, user=user).count() == 1
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.CANCELED
    user.refresh_from_db()
    assert not user.is_active


def test_a_row_still_collecting_keeps_the_account_link_so_its_address_is_erased_later():
    """The hourly sweep finds kept addresses through the deactivated account: the row whose
    payment is still being collected is the one linked, even when login linked the other."""
    from pledges.services.account_deletion import deleted_supporters_erase_settled

    user = UserFactory(email="a@example.org")
    for address in ("a@example.org", "b@example.org"):
        EmailAddress.objects.create(user=user, email=address, verified=True)
    campaign = CampaignFactory()
    row_a = SupporterFactory(campaign=campaign, email="a@example.org")
    row_b = SupporterFactory(campaign=campaign, email="b@example.org")
    supporters_link_user(user=user)
    pledge = PledgeFactory(
        campaign=campaign,
        supporter=row_b,
        status=Pledge.Status.NEEDS_NEW_METHOD,
        stripe_payment_method_id="",
    )

    account_delete(user=user)

    row_a.refresh_from_db()
    row_b.refresh_from_db()
    assert row_b.email == "b@example.org"  # still reachable about the payment
    assert row_b.user_id == user.pk
    Pledge.objects.filter(pk=pledge.pk).update(status=Pledge.Status.UNPAID)
    assert deleted_supporters_erase_settled() == 1
    row_b.refresh_from_db()
    assert row_b.email == f"deleted-{row_b.pk}@deleted.invalid"
