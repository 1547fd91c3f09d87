"""A chunk of charges hands its receipts over once, at its end (issue 14: one Celery publish per
charge was a fifth of a payments worker's CPU), and no receipt is lost or sent twice for it: a
chunk delivered again after its worker was killed hands over the receipts the killed run held,
and the `emails` worker sends each pledge's receipt once, only for a pledge that was paid."""

from __future__ import annotations

import pytest
from django.core import mail

from pledges.models import Pledge
from pledges.services import notify
from pledges.services.charging import pledge_charge
from pledges.tasks import pledges_charge
from tests.pledges.settlement_support import charge_due_campaign

pytestmark = pytest.mark.django_db


def _receipts(pledges) -> list[str]:
    emails = {p.supporter.email for p in pledges}
    return sorted(m.to[0] for m in mail.outbox if m.to[0] in emails and "is paid" in m.subject)


@pytest.fixture
def handed_over(monkeypatch) -> list[list[int]]:
    """The pledge ids of every receipt batch handed to the `emails` queue."""
    batches: list[list[int]] = []
    real = notify.pledges_notify_batches

    def spy(*, pledge_ids, template):
        if template == notify.RECEIPT:
            batches.append(list(pledge_ids))
        real(pledge_ids=pledge_ids, template=template)

    monkeypatch.setattr(notify, "pledges_notify_batches", spy)
    return batches


def _paid_by_a_killed_run(pledges, capture) -> None:
    """Charge `pledges` as a chunk's run that was then killed: their receipts were held in a
    list that died with the process (the chunk's `finally` never ran)."""
    token = notify._receipts_held.set([])
    try:
        with capture(execute=True):
            for pledge in pledges:
                assert pledge_charge(pledge_id=pledge.pk).status == Pledge.Status.PAID
    finally:
        notify._receipts_held.reset(token)


def test_a_chunk_of_charges_hands_its_receipts_over_once_and_each_supporter_gets_one(
    stripe_local, staff, celery_eager, django_capture_on_commit_callbacks, handed_over
):
    campaign, pledges = charge_due_campaign(staff, count=4)
    with django_capture_on_commit_callbacks(execute=True):
        counts = pledges_charge(pledge_ids=[p.pk for p in pledges])
    assert counts == {Pledge.Status.PAID: 4}
    assert handed_over == [[p.pk for p in pledges]]
    assert len(_receipts(pledges)) == 4


def test_a_chunk_delivered_again_after_a_kill_sends_the_receipts_the_killed_run_held(
    stripe_local, staff, celery_eager, django_capture_on_commit_callbacks, handed_over
):
    campaign, pledges = charge_due_campaign(staff, count=3)
    # The killed run: it paid the first two and held their receipts in a list that died with
    # the process (its `finally` never ran).
    _paid_by_a_killed_run(pledges[:2], django_capture_on_commit_callbacks)
    assert handed_over == []
    assert _receipts(pledges) == []
    # The broker delivers the unacknowledged chunk again: the third is charged, the first two
    # are found paid, and all three receipts go out, once each.
    with django_capture_on_commit_callbacks(execute=True):
        counts = pledges_charge(pledge_ids=[p.pk for p in pledges])
    assert counts == {"skipped": 2, Pledge.Status.PAID: 1}
    assert len(_receipts(pledges)) == 3
    # A third delivery (or the same payment reported again) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        pledges_charge(pledge_ids=[p.pk for p in pledges])
    assert len(_receipts(pledges)) == 3


def test_a_receipt_goes_only_to_a_pledge_that_was_paid(
    stripe_local, staff, celery_eager, django_capture_on_commit_callbacks
):
    campaign, (paid, unpaid) = charge_due_campaign(staff, count=2)
    with django_capture_on_commit_callbacks(execute=True):
        pledge_charge(pledge_id=paid.pk)
    mail.outbox.clear()
    assert notify.pledges_send_emails(pledge_ids=[paid.pk, unpaid.pk], template=notify.RECEIPT) == 0
    assert mail.outbox == []  # `paid` had its receipt already; `unpaid` was never charged


def test_a_chunk_delivered_again_into_a_halt_still_sends_the_receipts_the_killed_run_held(
    stripe_local, staff, celery_eager, django_capture_on_commit_callbacks, handed_over
):
    from django.core.cache import cache

    from pledges.services.charging import HALT_KEY

    campaign, pledges = charge_due_campaign(staff, count=3)
    # The killed run paid the first one; its held receipt died with the process.
    _paid_by_a_killed_run(pledges[:1], django_capture_on_commit_callbacks)
    # Stripe refused our key meanwhile (another worker halted settlement): the redelivered
    # chunk stops at its first pledge. Nobody will ever hand this chunk over again (a paid
    # pledge is never queued again), so the receipt must go now.
    cache.set(HALT_KEY, "test halt", timeout=60)
    with django_capture_on_commit_callbacks(execute=True):
        counts = pledges_charge(pledge_ids=[p.pk for p in pledges])
    assert counts["halted"] == 1
    assert handed_over == [[pledges[0].pk]]
    assert _receipts(pledges) == [pledges[0].supporter.email]
