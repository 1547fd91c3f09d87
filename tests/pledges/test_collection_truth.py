"""What the public and staff are told while an approved campaign's pledges are collected
(issue 13): the page never claims more was collected, or from more people, than really paid;
the status says collecting / collected / partly collected; staff get one digest per run.

Real localstripe for the charges; time moves with time-machine.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail

from campaigns.models import Campaign
from campaigns.services import campaign_transition
from pledges.models import Pledge
from pledges.services import charging, settlement
from pledges.services.transitions import pledge_transition
from tests.pledges.settlement_support import (
    DECLINE_CARD,
    active_pledge,
    campaign_ending,
    charge_due_campaign,
    saved_card,
)

S = Pledge.Status
pytestmark = [pytest.mark.django_db, pytest.mark.stripe]


def _approved(campaign: Campaign, staff) -> None:
    """Past the deadline, frozen, approved by staff, every pledge due (nothing charged yet)."""
    with time_machine.travel(campaign.deadline + dt.timedelta(minutes=1), tick=True):
        assert settlement.campaign_freeze(campaign_id=campaign.pk) == "awaiting_approval"
    campaign.refresh_from_db()
    campaign_transition(
        campaign=campaign,
        to=Campaign.Status.SUCCEEDED,
        expected=Campaign.Status.SETTLING,
        actor=staff,
        note="Approved for collection.",
    )
    settlement.campaign_mark_pledges_due(campaign_id=campaign.pk)


def _page(client, campaign) -> str:
    """The page as a reader sees it: its text (the markup kept for the data attributes)."""
    html = client.get(campaign.get_absolute_url()).content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    return html + "\n" + text.replace(" ;", ";").replace(" .", ".")


def test_page_says_what_was_collected_from_whom_while_payments_are_still_being_collected(
    client, stripe_local, staff
):
    campaign = campaign_ending(goal_cents=3000)
    card = saved_card()
    first, second = (active_pledge(campaign, card=card, amount_cents=1500) for _ in range(2))
    declined = active_pledge(campaign, number=DECLINE_CARD, amount_cents=1500)
    _approved(campaign, staff)

    html = _page(client, campaign)
    assert "Nothing collected yet; 3 payments being collected." in html
    assert "Funded" not in html

    assert charging.pledge_charge(pledge_id=first.pk).status == S.PAID
    html = _page(client, campaign)
    assert "$15 collected from 1 supporter; 2 payments still being collected." in html
    assert 'data-collection="collecting"' in html
    assert "Funded" not in html
    assert "$45" in html  # the pledged total stays on the page, as pledged, not as collected

    assert charging.pledge_charge(pledge_id=second.pk).status == S.PAID
    assert charging.pledge_charge(pledge_id=declined.pk).status == S.RETRY_DUE
    html = _page(client, campaign)
    assert "$30 collected from 2 supporters; 1 payment still being collected." in html

    # The declined supporter never pays: collection is over, and the page says it was partial.
    declined.refresh_from_db()
    pledge_transition(pledge=declined, to=S.UNPAID, expected=S.RETRY_DUE, actor_label="test")
    html = _page(client, campaign)
    assert 'data-collection="partly_collected"' in html
    assert "Partly collected" in html
    assert "$30 collected from 2 supporters; 1 pledge could not be collected." in html
    assert "Funded" not in html
    assert "still being collected" not in html

    discover = " ".join(client.get("/").content.decode().split())
    assert "badge--partly_collected" in discover
    assert "Partly collected" in discover

    # Staff and organizers see the same state in the admin lists.
    client.force_login(staff)
    settlements = client.get("/admin/pledges/campaignsettlement/").content.decode()
    assert "Partly collected: 2 paid, 0 still collecting, 1 not collected" in settlements
    assert (
        "Succeeded · Partly collected" in client.get("/admin/campaigns/campaign/").content.decode()
    )


def test_page_says_funded_once_everyone_has_paid(client, stripe_local, staff):
    campaign = campaign_ending(goal_cents=3000)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card, amount_cents=1500) for _ in range(2)]
    _approved(campaign, staff)
    for pledge in pledges:
        assert charging.pledge_charge(pledge_id=pledge.pk).status == S.PAID

    html = _page(client, campaign)
    assert 'data-collection="collected"' in html
    assert "Funded: $30 from 2 supporters" in html
    assert "still being collected" not in html
    discover = " ".join(client.get("/").content.decode().split())
    assert "badge--collected" in discover


def test_campaign_counters_follow_every_pledge_state(stripe_local, staff):
    """The counters the page reads are the pledge states, whatever path the pledges took."""
    campaign = campaign_ending(goal_cents=3000)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card, amount_cents=1500) for _ in range(3)]
    _approved(campaign, staff)
    charging.pledge_charge(pledge_id=pledges[0].pk)
    charging.pledge_charge(pledge_id=pledges[1].pk)
    pledges[1].refresh_from_db()
    pledge_transition(pledge=pledges[1], to=S.REFUNDED, expected=S.PAID, actor_label="test")

    campaign.refresh_from_db()
    states = list(campaign.pledges.values_list("status", flat=True))
    assert campaign.paid_count == states.count(S.PAID) == 1
    assert campaign.collecting_count == states.count(S.CHARGE_DUE) == 1
    assert campaign.uncollected_count == 0


def _staff_mail():
    return [m for m in mail.outbox if m.to == ["staff@rallyround.local"]]


def test_staff_get_one_digest_per_run_not_one_email_per_pledge_needing_review(
    stripe_local, staff, celery_eager, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_ALERT_EMAILS = ["staff@rallyround.local"]
    campaign, pledges = charge_due_campaign(staff, count=6)
    rejected = pledges[:4]
    Pledge.objects.filter(pk__in=[p.pk for p in rejected]).update(
        stripe_payment_method_id="pm_deleted"
    )
    mail.outbox.clear()

    # The workers charge one pledge after another; the beat runs meanwhile.
    with django_capture_on_commit_callbacks(execute=True):
        for pledge in pledges[:-1]:
            charging.pledge_charge(pledge_id=pledge.pk)
            settlement.settle_due()
    assert _staff_mail() == []  # the run is not over: one pledge is still due

    with django_capture_on_commit_callbacks(execute=True):
        charging.pledge_charge(pledge_id=pledges[-1].pk)
        settlement.settle_due()
        settlement.settle_due()  # a second beat: nothing new to report

    sent = _staff_mail()
    assert len(sent) == 1, [m.subject for m in sent]
    digest = sent[0]
    assert "2 charged" in digest.subject
    assert "needs review: 4" in digest.subject
    body = digest.body
    assert "Charged: 2 pledges, $30.09." in body  # 1504 + 1505 cents
    for pledge in rejected:
        assert f"Pledge R-{pledge.pk} ($15" in body
    assert "Stripe rejected the request" in body
    assert f"/admin/pledges/campaignsettlement/{campaign.pk}/change/?status=needs_review" in body
    assert "¢" not in body
    assert "¢" not in digest.subject
    assert "$30.09 collected of $90.15 pledged" in body


def test_staff_emails_format_money_through_the_formatter(
    stripe_local, celery_eager, settings, django_capture_on_commit_callbacks
):
    """The "awaits approval" email once read "602800¢ of 600000¢"."""
    settings.STAFF_ALERT_EMAILS = ["staff@rallyround.local"]
    campaign = campaign_ending(goal_cents=600_000)
    card = saved_card()
    active_pledge(campaign, card=card, amount_cents=602_800)
    with (
        time_machine.travel(campaign.deadline + dt.timedelta(minutes=1), tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        settlement.campaign_freeze(campaign_id=campaign.pk)
    (alert,) = _staff_mail()
    assert "$6,028 of $6,000 from 1 pledges" in alert.body
    assert "¢" not in alert.body


def test_no_history_note_writes_cents_instead_of_money():
    """Issue 16: money is always written as money. Pledge and campaign history notes are read
    by supporters (their pledge page) and staff; none may say "2000¢"."""
    import pathlib

    services = pathlib.Path(__file__).resolve().parents[2] / "pledges" / "services"
    offenders = [
        f"{path.name}:{n}"
        for path in services.glob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "¢" in line
    ]
    assert offenders == []


def test_only_the_attempts_module_creates_payment_attempts():
    """Issue 13 (Reshape): one function writes a PaymentAttempt row with its idempotency key
    (`attempts.attempt_open`); before the split three places did (the claim, the 24-hour
    resume, the on-session new card). Product code only: tests make rows with the factory."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    creating = re.compile(r"PaymentAttempt(\.objects\.(create|bulk_create|get_or_create)|)\(")
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for app in ("pledges", "campaigns", "supporters", "api", "actions", "outreach")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts and path.name != "models.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if creating.search(line)
    ]
    assert [place.split(":")[0] for place in offenders] == ["pledges/services/attempts.py"]
