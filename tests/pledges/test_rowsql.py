"""pledges/rowsql.py: the one-row statements a charge runs, built once per process (issue 14).

They must write and read exactly what the ORM would: every column of the row they return equals
a fresh ORM read; a condition that does not match changes nothing; an INSERT fills auto_now
columns as a save does; a locked read through another table returns the right row. And since
they send no model signals, nothing may be listening for them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import signals
from django.utils import timezone

from campaigns import page_cache
from campaigns.models import Campaign
from pledges import rowsql
from pledges.models import PaymentAttempt, Pledge, PledgeEvent
from tests.factories import CampaignFactory, PledgeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

S = Pledge.Status


def _columns(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_a_conditional_update_returns_the_row_exactly_as_the_orm_reads_it():
    pledge = PledgeFactory(status=S.ACTIVE, amount_cents=2_500)
    lease = timezone.now() + dt.timedelta(minutes=10)
    row = rowsql.row_update_returning(
        Pledge,
        where={"id": pledge.pk, "status": S.ACTIVE, "attempt_count": 0},
        fields={"status": S.CHARGE_DUE, "lease_expires_at": lease, "next_attempt_at": None},
    )
    assert row is not None
    assert row._state.adding is False
    assert _columns(row) == _columns(Pledge.objects.get(pk=pledge.pk))
    assert row.status == S.CHARGE_DUE
    assert row.lease_expires_at == lease


def test_a_condition_that_does_not_match_changes_nothing():
    pledge = PledgeFactory(status=S.ACTIVE)
    before = _columns(Pledge.objects.get(pk=pledge.pk))
    for where in (
        {"id": pledge.pk, "status": S.CHARGE_DUE},
        {"id": pledge.pk, "status": S.ACTIVE, "attempt_count": 1},
        {"id": pledge.pk, "status": S.ACTIVE, "paid_at": timezone.now()},
    ):
        assert rowsql.row_update_returning(Pledge, where=where, fields={"status": S.PAID}) is None
    assert _columns(Pledge.objects.get(pk=pledge.pk)) == before


def test_none_in_a_condition_means_is_null():
    pledge = PledgeFactory(status=S.ACTIVE)
    row = rowsql.row_update_returning(
        Pledge, where={"id": pledge.pk, "paid_at": None}, fields={"card_last4": "4321"}
    )
    assert row is not None
    assert row.card_last4 == "4321"


def test_an_insert_fills_what_a_save_fills_and_the_instance_counts_as_saved():
    pledge = PledgeFactory(status=S.CHARGING)
    started = timezone.now()
    event = rowsql.row_insert(
        PledgeEvent(pledge=pledge, to_status=S.CHARGING, note="Attempt 1", amount_cents=None)
    )
    assert event.pk
    assert event._state.adding is False
    stored = PledgeEvent.objects.get(pk=event.pk)
    assert _columns(stored) == _columns(event)
    assert stored.created_at >= started
    attempt = rowsql.row_insert(
        PaymentAttempt(
            pledge=pledge, number=1, idempotency_key="k-1", amount_cents=1_500, currency="usd"
        )
    )
    stored_attempt = PaymentAttempt.objects.get(pk=attempt.pk)
    assert stored_attempt.outcome == PaymentAttempt.Outcome.PENDING
    assert stored_attempt.created_at is not None
    assert stored_attempt.updated_at is not None


def test_a_locked_read_through_an_attempt_returns_its_pledge():
    mine, other = PledgeFactory(status=S.CHARGING), PledgeFactory(status=S.CHARGING)
    attempt = PaymentAttempt.objects.create(
        pledge=mine, number=1, idempotency_key="k-2", amount_cents=1_500
    )
    PaymentAttempt.objects.create(pledge=other, number=1, idempotency_key="k-3", amount_cents=1)
    found = rowsql.row_locked(Pledge, attempt.pk, through=PaymentAttempt, fk="pledge_id")
    assert found is not None
    assert _columns(found) == _columns(Pledge.objects.get(pk=mine.pk))
    assert _columns(rowsql.row_locked(PaymentAttempt, attempt.pk)) == _columns(
        PaymentAttempt.objects.get(pk=attempt.pk)
    )
    assert rowsql.row_locked(PaymentAttempt, 10**9) is None
    assert rowsql.row_locked(Pledge, 10**9, through=PaymentAttempt, fk="pledge_id") is None


def test_nothing_listens_for_the_model_signals_these_statements_do_not_send():
    for model in (Pledge, PledgeEvent, PaymentAttempt):
        for signal in (signals.pre_save, signals.post_save):
            assert not signal.has_listeners(model), (model, signal)


@pytest.fixture
def pages_marked(monkeypatch) -> list[str]:
    marked: list[str] = []
    monkeypatch.setattr(page_cache, "campaign_pages_changed", marked.extend)
    return marked


def test_campaign_counters_move_in_one_statement_and_mark_its_pages_changed(
    django_assert_num_queries, pages_marked
):
    campaign = CampaignFactory(pledged_cents=1_000, backer_count=2)
    pages_marked.clear()  # the factory's save marked them too
    with django_assert_num_queries(1):
        assert Campaign.objects.counters_add(campaign.pk, pledged_cents=500, backer_count=-1)
    assert pages_marked == [campaign.slug]
    campaign.refresh_from_db()
    assert (campaign.pledged_cents, campaign.backer_count) == (1_500, 1)
    assert Campaign.objects.counters_add(campaign.pk, paid_count=0) == 0  # nothing to add
    with pytest.raises(TypeError):
        Campaign.objects.counters_add(campaign.pk, title=1)
    with pytest.raises(TypeError):  # it names its row: a filter would be silently ignored
        Campaign.objects.filter(pk=campaign.pk + 1).counters_add(campaign.pk, paid_count=1)


def test_an_update_of_campaign_rows_is_one_statement_that_marks_their_pages(
    django_assert_num_queries, pages_marked
):
    first, second, _other = CampaignFactory(), CampaignFactory(), CampaignFactory()
    pages_marked.clear()  # the factory's saves marked them too
    with django_assert_num_queries(1):
        updated = Campaign.objects.filter(pk__in=[first.pk, second.pk]).update(goal_cents=123_400)
    assert updated == 2
    assert sorted(pages_marked) == sorted([first.slug, second.slug])
    pages_marked.clear()
    assert Campaign.objects.filter(pk=first.pk).update(slug="renamed") == 1
    assert sorted(pages_marked) == sorted([first.slug, "renamed"])  # the old address and the new
    assert Campaign.objects.filter(goal_cents=123_400).count() == 2


def test_a_transition_naming_a_relation_by_its_field_takes_the_orm_path_as_before():
    """`where`/`updates` take what a queryset's filter()/update() take: a foreign key by its
    name with an instance (`supporter=…`), or "pk". The built statements know only column
    attnames and plain values; anything else goes through the ORM, not a KeyError."""
    from pledges.services.transitions import pledge_transition

    pledge = PledgeFactory(status=S.ACTIVE)
    assert pledge_transition(
        pledge=pledge,
        to=S.CHARGE_DUE,
        where={"supporter": pledge.supporter, "pk": pledge.pk},
        updates={"supporter": pledge.supporter},
    )
    assert Pledge.objects.get(pk=pledge.pk).status == S.CHARGE_DUE
    assert not pledge_transition(
        pledge=pledge, to=S.CHARGING, where={"supporter_id": pledge.supporter_id + 1}
    )
