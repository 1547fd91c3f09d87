"""The organizer's dashboard: the forecast agrees with settlement, the final push reaches exactly
its segment, action results, and only the organization's own campaign opens."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.utils import timezone

from outreach.models import CampaignUpdate
from outreach.services import update_publish
from pledges.models import Pledge
from pledges.selectors_forecast import campaign_forecast
from pledges.services.settlement import settle_predict
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Pledge.Status


def pledge(campaign, cents, status=S.ACTIVE, exp=(2040, 12), **kwargs):
    return PledgeFactory(
        campaign=campaign,
        amount_cents=cents,
        status=status,
        card_exp_year=exp[0] if exp else None,
        card_exp_month=exp[1] if exp else None,
        **kwargs,
    )


@pytest.fixture
def campaign():
    deadline = dt.datetime(2027, 3, 15, 20, 0, tzinfo=dt.UTC)
    with time_machine.travel(deadline - dt.timedelta(days=20), tick=False):
        campaign = CampaignFactory(
            goal_cents=10_000, deadline=deadline, published_at=timezone.now()
        )
    return campaign


@pytest.mark.parametrize("amounts", [(3000, 2500), (6000, 5000)])
def test_the_forecast_says_what_settle_campaigns_dry_run_says_at_the_same_moment(campaign, amounts):
    for cents in amounts:
        pledge(campaign, cents)
    pledge(campaign, 9000, status=S.PENDING_SETUP, exp=None)  # no card yet: not counted
    pledge(campaign, 7000, status=S.CANCELED)
    moment = campaign.deadline + dt.timedelta(seconds=1)
    with time_machine.travel(moment, tick=False):
        (prediction,) = settle_predict(campaign=campaign)
        forecast = campaign_forecast(campaign=campaign)
    assert forecast.goal_met == ("goal met" in prediction.verdict)
    assert forecast.would_charge_cents == prediction.total_cents == sum(amounts)
    assert forecast.would_charge_count == prediction.pledge_count == len(amounts)
    assert forecast.counted_cents == sum(amounts)


def test_cards_that_lapse_before_the_deadline_are_at_risk(campaign):
    pledge(campaign, 2000, exp=(2027, 2))  # expires end of February: before March 15
    pledge(campaign, 3000, exp=(2027, 3))  # good through March 31
    pledge(campaign, 4000, exp=(2026, 11))
    forecast = campaign_forecast(campaign=campaign, now=campaign.deadline - dt.timedelta(days=5))
    assert forecast.expiring_count == 2
    assert forecast.expiring_cents == 6000
    assert forecast.at_risk_cents == 6000


def test_the_projection_follows_the_pace_of_the_last_two_weeks(campaign):
    start = campaign.deadline - dt.timedelta(days=20)
    with time_machine.travel(start, tick=False):
        pledge(campaign, 1000)  # older than the pace window
    with time_machine.travel(start + dt.timedelta(days=8), tick=False):
        pledge(campaign, 2800)
    now = campaign.deadline - dt.timedelta(days=2)
    forecast = campaign_forecast(campaign=campaign, now=now)
    assert forecast.pace_cents_per_day == 200  # 2,800 over the last 14 days
    assert forecast.days_left == 2
    assert forecast.projected_cents == 3800 + 400
    assert forecast.shortfall_cents == 10_000 - 4200
    assert not forecast.goal_met


@pytest.fixture
def audience(campaign):
    make = lambda tier, email: SupporterFactory(  # noqa: E731
        campaign=campaign, tier=tier, email=email, consent_updates=True
    )
    ally = make("ally", "ally@example.org")
    make("ally", "ally-pledged@example.org")
    pledged_ally = campaign.supporters.get(email="ally-pledged@example.org")
    pledge(campaign, 2000, supporter=pledged_ally)
    expiring = make("advocate", "expiring@example.org")
    pledge(campaign, 2000, supporter=expiring, exp=(2027, 1), tier="advocate")
    fine = make("advocate", "fine@example.org")
    pledge(campaign, 2000, supporter=fine, tier="advocate")
    return {"ally": ally, "expiring": expiring}


def _send(campaign, capture, **fields):
    update = CampaignUpdate.objects.create(
        campaign=campaign, title="Three days left", body="Every pledge counts.", **fields
    )
    mail.outbox.clear()
    with capture(execute=True):
        update_publish(update=update)
    return sorted(a for m in mail.outbox for a in m.to)


def test_the_final_push_to_allies_reaches_only_allies_without_a_pledge(
    campaign, audience, celery_eager, django_capture_on_commit_callbacks
):
    sent = _send(
        campaign,
        django_capture_on_commit_callbacks,
        audience=CampaignUpdate.Audience.EVERYONE,
        segment=CampaignUpdate.Segment.ALLIES_NOT_PLEDGED,
    )
    assert sent == ["ally@example.org"]


def test_the_final_push_about_cards_reaches_only_expiring_cards_with_their_link(
    campaign, audience, celery_eager, django_capture_on_commit_callbacks
):
    with time_machine.travel(campaign.deadline - dt.timedelta(days=3), tick=False):
        sent = _send(
            campaign,
            django_capture_on_commit_callbacks,
            audience=CampaignUpdate.Audience.ADVOCATES,
            segment=CampaignUpdate.Segment.CARD_EXPIRING,
        )
    assert sent == ["expiring@example.org"]
    token = Pledge.objects.get(supporter=audience["expiring"]).token
    assert f"/pledges/{token}/" in mail.outbox[0].body


def _organizer(org):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Organizers"))
    org.members.add(user)
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_shows_forecast_actions_and_push_to_its_organization_only(
    campaign, audience, django_assert_max_num_queries
):
    from actions.models import Action

    Action.objects.create(campaign=campaign, kind="petition", title="Sign the letter")
    other_org = CampaignFactory().organization
    url = f"/admin/outreach/campaignupdate/dashboard/{campaign.pk}/"
    with time_machine.travel(campaign.deadline - dt.timedelta(days=3), tick=False):
        own, other = _organizer(campaign.organization), _organizer(other_org)
        with django_assert_max_num_queries(40):
            response = own.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert 'data-testid="forecast"' in body
        assert "would not be met" in body
        assert "Sign the letter" in body
        assert "segment=allies_not_pledged" in body
        assert other.get(url).status_code == 404
        edit = own.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
        assert url in edit


def test_a_push_to_allies_must_be_for_everyone(campaign):
    from outreach.forms import CampaignUpdateAdminForm

    form = CampaignUpdateAdminForm(
        data={
            "campaign": campaign.pk,
            "title": "Hi",
            "audience": "advocates",
            "segment": "allies_not_pledged",
            "body": "Pledge!",
        }
    )
    assert not form.is_valid()
    assert "segment" in form.errors
