"""Campaign updates: who gets the email, who may read what, unsubscribing, never twice."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from outreach.models import CampaignUpdate, UpdateDelivery
from outreach.services import (
    UPDATE_BATCH_SIZE,
    UpdateNotPublishable,
    unsubscribe_token,
    update_publish,
    update_send,
    update_send_batch,
)
from supporters.models import Supporter
from tests.factories import CampaignFactory, SupporterFactory, verified_user

pytestmark = pytest.mark.django_db

A = CampaignUpdate.Audience


def make_update(campaign, audience=A.EVERYONE, **kwargs):
    defaults = {"title": f"News for {audience}", "body": "We met the council **today**."}
    return CampaignUpdate.objects.create(
        campaign=campaign, audience=audience, **{**defaults, **kwargs}
    )


def publish(update, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return update_publish(update=update)


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.fixture
def people():
    campaign = CampaignFactory()
    make = lambda tier, email, **kw: SupporterFactory(  # noqa: E731
        campaign=campaign, tier=tier, email=email, consent_updates=True, **kw
    )
    return {
        "campaign": campaign,
        "ally": make("ally", "ally@example.org"),
        "advocate": make("advocate", "advocate@example.org"),
        "champion": make("champion", "champion@example.org"),
    }


# --- who gets the email -----------------------------------------------------------------------
def test_advocate_update_reaches_advocates_and_champions_but_not_allies(
    people, celery_eager, django_capture_on_commit_callbacks
):
    update = make_update(people["campaign"], A.ADVOCATES)
    assert publish(update, django_capture_on_commit_callbacks) is True
    assert recipients() == ["advocate@example.org", "champion@example.org"]
    assert "We met the council <strong>today</strong>" in mail.outbox[0].alternatives[0][0]


def test_champions_only_update_is_not_sent_to_advocates(
    people, celery_eager, django_capture_on_commit_callbacks
):
    publish(make_update(people["campaign"], A.CHAMPIONS), django_capture_on_commit_callbacks)
    assert recipients() == ["champion@example.org"]


def test_public_update_reaches_every_tier(people, celery_eager, django_capture_on_commit_callbacks):
    publish(make_update(people["campaign"], A.EVERYONE), django_capture_on_commit_callbacks)
    assert recipients() == ["advocate@example.org", "ally@example.org", "champion@example.org"]


def test_no_consent_unconfirmed_or_left_means_no_email(
    celery_eager, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory()
    SupporterFactory(campaign=campaign, tier="champion", email="no-consent@example.org")
    SupporterFactory(campaign=campaign, tier="champion", consent_updates=True, confirmed_at=None)
    from django.utils import timezone

    SupporterFactory(
        campaign=campaign, tier="champion", consent_updates=True, left_at=timezone.now()
    )
    SupporterFactory(campaign=campaign, tier="champion", consent_updates=True, email="y@x.org")
    publish(make_update(campaign, A.EVERYONE), django_capture_on_commit_callbacks)
    assert recipients() == ["y@x.org"]


def test_update_email_has_one_click_unsubscribe_headers(
    people, celery_eager, django_capture_on_commit_callbacks
):
    publish(make_update(people["campaign"], A.CHAMPIONS), django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    link = message.extra_headers["List-Unsubscribe"]
    assert link.startswith("<http")
    assert "/updates/unsubscribe/" in link
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.strip("<>") in message.body


def test_publishing_twice_and_rerunning_batches_never_emails_anyone_twice(
    people, celery_eager, django_capture_on_commit_callbacks
):
    update = make_update(people["campaign"], A.ADVOCATES)
    publish(update, django_capture_on_commit_callbacks)
    assert publish(update, django_capture_on_commit_callbacks) is False
    ids = [people["advocate"].pk, people["champion"].pk, people["ally"].pk]
    assert update_send_batch(update_id=update.pk, supporter_ids=ids) == 0  # redelivered task
    with django_capture_on_commit_callbacks(execute=True):
        assert update_send(update=update, again=True) == 0
    assert len(mail.outbox) == 2
    assert UpdateDelivery.objects.filter(update=update).count() == 2


def test_send_again_reaches_only_people_who_joined_the_audience_since(
    people, celery_eager, django_capture_on_commit_callbacks
):
    update = make_update(people["campaign"], A.ADVOCATES)
    publish(update, django_capture_on_commit_callbacks)
    Supporter.objects.filter(pk=people["ally"].pk).update(tier="advocate")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert update_send(update=update, again=True) == 1
    assert recipients() == ["ally@example.org"]


def test_sending_is_split_into_batches_of_one_task_each(django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    SupporterFactory.create_batch(
        UPDATE_BATCH_SIZE + 1, campaign=campaign, tier="advocate", consent_updates=True
    )
    update = make_update(campaign, A.ADVOCATES)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        update_publish(update=update)
    assert len(callbacks) == 2


def test_someone_who_unsubscribes_after_the_batch_was_queued_gets_nothing(people):
    update = make_update(people["campaign"], A.CHAMPIONS)
    CampaignUpdate.objects.filter(pk=update.pk).update(published_at="2026-01-01T00:00Z")
    Supporter.objects.filter(pk=people["champion"].pk).update(consent_updates=False)
    assert update_send_batch(update_id=update.pk, supporter_ids=[people["champion"].pk]) == 0


def test_a_draft_campaign_cannot_publish_updates():
    campaign = CampaignFactory(status="draft")
    with pytest.raises(UpdateNotPublishable):
        update_publish(update=make_update(campaign))


# --- unsubscribe ------------------------------------------------------------------------------
def unsubscribe_path(supporter):
    return reverse(
        "outreach:unsubscribe",
        kwargs={"slug": supporter.campaign.slug, "token": unsubscribe_token(supporter=supporter)},
    )


def test_unsubscribe_get_shows_a_button_and_changes_nothing(client, people):
    champion = people["champion"]
    response = client.get(unsubscribe_path(champion))
    assert response.status_code == 200
    assert b"Stop campaign updates?" in response.content
    assert b'<form method="post">' in response.content
    champion.refresh_from_db()
    assert champion.consent_updates is True


def test_unsubscribe_button_stops_the_next_update(
    client, people, celery_eager, django_capture_on_commit_callbacks
):
    champion = people["champion"]
    response = client.post(unsubscribe_path(champion))
    assert response.status_code == 200
    assert b"unsubscribed" in response.content
    champion.refresh_from_db()
    assert champion.consent_updates is False
    assert champion.consent_updates_at is not None
    publish(make_update(people["campaign"], A.CHAMPIONS), django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_one_click_post_without_csrf_token_unsubscribes(people):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(unsubscribe_path(people["advocate"]), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    people["advocate"].refresh_from_db()
    assert people["advocate"].consent_updates is False


def test_tampered_unsubscribe_token_is_rejected(client, people):
    champion = people["champion"]
    token = unsubscribe_token(supporter=champion)
    bad = reverse(
        "outreach:unsubscribe", kwargs={"slug": champion.campaign.slug, "token": token[:-2] + "xx"}
    )
    assert client.post(bad).status_code == 400
    other = CampaignFactory()
    wrong_campaign = reverse("outreach:unsubscribe", kwargs={"slug": other.slug, "token": token})
    assert client.post(wrong_campaign).status_code == 400
    champion.refresh_from_db()
    assert champion.consent_updates is True


# --- reading updates --------------------------------------------------------------------------
def published(campaign, audience, title):
    update = make_update(campaign, audience, title=title, body=f"Body of {title}")
    CampaignUpdate.objects.filter(pk=update.pk).update(published_at="2026-01-01T00:00Z")
    return update


def detail_url(update):
    return reverse("outreach:update_detail", kwargs={"slug": update.campaign.slug, "pk": update.pk})


def login_as(client, campaign, tier):
    user = verified_user()  # supporter pages trust only a proven address (issue 12)
    SupporterFactory(campaign=campaign, user=user, email=user.email, tier=tier)
    client.force_login(user)
    return user


@pytest.fixture
def gated():
    campaign = CampaignFactory()
    return {
        "campaign": campaign,
        "public": published(campaign, A.EVERYONE, "Public news"),
        "advocates": published(campaign, A.ADVOCATES, "Strategy notes"),
        "champions": published(campaign, A.CHAMPIONS, "Inner circle"),
    }


def test_anonymous_visitor_reads_public_updates_and_sees_gated_ones_locked(client, gated):
    page = client.get(reverse("outreach:updates", kwargs={"slug": gated["campaign"].slug}))
    html = page.content.decode()
    assert "Body of Public news" in html
    assert "Strategy notes" in html
    assert "Body of Strategy notes" not in html
    assert "Become an Advocate to read this" in html
    assert "Body of Inner circle" not in html


@pytest.mark.parametrize(
    ("tier", "readable", "forbidden"),
    [
        (None, ["public"], ["advocates", "champions"]),
        ("ally", ["public"], ["advocates", "champions"]),
        ("advocate", ["public", "advocates"], ["champions"]),
        ("champion", ["public", "advocates", "champions"], []),
    ],
)
def test_gated_updates_stay_gated_by_url(client, gated, tier, readable, forbidden):
    if tier:
        login_as(client, gated["campaign"], tier)
    for key in readable:
        response = client.get(detail_url(gated[key]))
        assert response.status_code == 200
        assert f"Body of {gated[key].title}" in response.content.decode()
    for key in forbidden:
        response = client.get(detail_url(gated[key]))
        assert response.status_code == 403
        assert f"Body of {gated[key].title}" not in response.content.decode()
        assert "to read this" in response.content.decode()


def test_unpublished_update_is_404_for_the_public(client):
    update = make_update(CampaignFactory())
    assert client.get(detail_url(update)).status_code == 404


def test_updates_of_a_draft_campaign_are_404(client):
    campaign = CampaignFactory(status="draft")
    assert (
        client.get(reverse("outreach:updates", kwargs={"slug": campaign.slug})).status_code == 404
    )


def test_update_markdown_is_sanitized_on_the_page(client):
    campaign = CampaignFactory()
    update = published(campaign, A.EVERYONE, "Hi")
    CampaignUpdate.objects.filter(pk=update.pk).update(body="Hello <script>alert(1)</script>")
    html = client.get(detail_url(update)).content.decode()
    assert "<script>alert(1)" not in html


def test_demo_updates_fill_each_public_campaign_once():
    from outreach.demo import demo_updates

    live = CampaignFactory()
    draft = CampaignFactory(status="draft")
    assert demo_updates() == [f"updates for {live.slug}"]
    assert demo_updates() == []
    assert CampaignUpdate.objects.filter(campaign=live).count() == 3
    assert not CampaignUpdate.objects.filter(campaign=draft).exists()
    assert mail.outbox == []
