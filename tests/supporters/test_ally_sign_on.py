"""The Ally sign-on: no account needed, confirmed by a button, counted once."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from campaigns.models import Campaign
from supporters.models import Supporter
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "name": "Rosa Parks",
        "email": "Rosa@Example.org ",
        "postal_code": "94609",
        "phone": "",
    }
    data.update(overrides)
    return data


def sign_on(client, campaign, capture, **overrides):
    with capture(execute=True):
        return client.post(f"/c/{campaign.slug}/support/ally/", form_data(**overrides))


def confirm_link(message) -> str:
    return re.search(r"http://[^\s]+/confirm/[^\s/]+/", message.body).group(0)


def test_sign_on_stores_normalized_email_and_sends_a_confirm_email(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    response = sign_on(client, campaign, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == f"/c/{campaign.slug}/support/ally/check-email/"
    supporter = Supporter.objects.get(campaign=campaign)
    assert supporter.email == "rosa@example.org"
    assert supporter.confirmed_at is None
    campaign.refresh_from_db()
    assert campaign.supporter_count == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["rosa@example.org"]
    assert "Confirm your support" in mail.outbox[0].subject
    assert "rosa@example.org" in client.get(response["Location"]).content.decode()


def test_confirm_link_get_shows_a_button_and_does_not_confirm(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    sign_on(client, campaign, django_capture_on_commit_callbacks)
    link = confirm_link(mail.outbox[0])
    response = client.get(link)
    assert response.status_code == 200
    assert b"Confirm my support" in response.content
    assert b'method="post"' in response.content
    supporter = Supporter.objects.get(campaign=campaign)
    assert supporter.confirmed_at is None
    assert Campaign.objects.get(pk=campaign.pk).supporter_count == 0


def test_confirm_post_counts_once_and_sends_one_welcome(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    sign_on(client, campaign, django_capture_on_commit_callbacks)
    link = confirm_link(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(link)
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(link)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == f"/c/{campaign.slug}/support/ally/thanks/"
    campaign.refresh_from_db()
    assert campaign.supporter_count == 1
    welcomes = [m for m in mail.outbox if "Welcome" in m.subject]
    assert len(welcomes) == 1
    thanks = client.get(first["Location"]).content.decode()
    assert "Thank you, Rosa Parks!" in thanks
    # Under the threshold the count is an invitation, not "1 supporter" (issue 16).
    assert "Be among the first supporters" in thanks
    assert 'data-testid="supporter-count"' not in thanks


def test_signing_on_twice_keeps_one_supporter_and_counts_once(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    sign_on(client, campaign, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(confirm_link(mail.outbox[0]))
    mail.outbox.clear()
    response = sign_on(
        client, campaign, django_capture_on_commit_callbacks, email="ROSA@example.org"
    )
    assert response.status_code == 302
    assert Supporter.objects.filter(campaign=campaign).count() == 1
    assert Campaign.objects.get(pk=campaign.pk).supporter_count == 1
    # They get a note that they are already in, not a second confirmation link.
    assert [m.subject for m in mail.outbox] == [
        f"[Rallyround] You already support {campaign.title}"
    ]


def test_a_stranger_cannot_rewrite_a_confirmed_supporters_details_or_consents(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    supporter = SupporterFactory(campaign=campaign, email="rosa@example.org", name="Rosa")
    sign_on(
        client,
        campaign,
        django_capture_on_commit_callbacks,
        name="Impostor",
        consent_updates="on",
        consent_org="on",
    )
    supporter.refresh_from_db()
    assert supporter.name == "Rosa"
    assert (supporter.consent_updates, supporter.consent_org) == (False, False)


def test_consents_are_stored_with_their_wording_and_time_only_when_ticked(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    sign_on(client, campaign, django_capture_on_commit_callbacks, consent_org="on")
    supporter = Supporter.objects.get(campaign=campaign)
    assert supporter.consent_updates is False
    assert supporter.consent_updates_at is None
    assert supporter.consent_updates_text == ""
    assert supporter.consent_org is True
    assert supporter.consent_org_at is not None
    assert campaign.organization.name in supporter.consent_org_text
    page = client.get(f"/c/{campaign.slug}/support/ally/").content.decode()
    assert supporter.consent_org_text.replace("“", "&ldquo;") in page or (
        campaign.organization.name in page
    )
    # Both boxes start unticked.
    assert "checked" not in page


def test_honeypot_filled_looks_successful_but_stores_and_sends_nothing(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    response = sign_on(
        client, campaign, django_capture_on_commit_callbacks, website="http://spam.example"
    )
    assert response.status_code == 302
    assert not Supporter.objects.exists()
    assert mail.outbox == []


def test_per_email_rate_limit_stops_the_fourth_sign_on_within_an_hour(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    for _ in range(3):
        assert sign_on(client, campaign, django_capture_on_commit_callbacks).status_code == 302
    response = sign_on(client, campaign, django_capture_on_commit_callbacks)
    assert response.status_code == 429
    assert "already sent several emails to this address" in response.content.decode()
    assert len(mail.outbox) == 3


def test_per_ip_rate_limit_stops_the_eleventh_sign_on_within_an_hour(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    for i in range(10):
        response = sign_on(
            client, campaign, django_capture_on_commit_callbacks, email=f"p{i}@example.org"
        )
        assert response.status_code == 302
    response = sign_on(
        client, campaign, django_capture_on_commit_callbacks, email="late@example.org"
    )
    assert response.status_code == 429
    assert "Too many sign-ons from your network" in response.content.decode()
    assert not Supporter.objects.filter(email="late@example.org").exists()


def test_invalid_input_gets_clear_messages_and_changes_nothing(client):
    campaign = CampaignFactory()
    response = client.post(
        f"/c/{campaign.slug}/support/ally/",
        form_data(name="", email="not-an-email", postal_code="!!", phone="call me"),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Please tell us your name." in body
    assert "doesn&#x27;t look like an email address" in body
    assert "Please enter a ZIP or postal code" in body
    assert "Please enter a phone number" in body
    assert not Supporter.objects.exists()


@pytest.mark.parametrize("status", [Campaign.Status.SETTLING, Campaign.Status.SUCCEEDED])
def test_only_live_campaigns_accept_sign_ons(client, status):
    campaign = CampaignFactory(status=status)
    response = client.post(f"/c/{campaign.slug}/support/ally/", form_data())
    assert "no longer accepting new supporters" in response.content.decode()
    assert not Supporter.objects.exists()


def test_draft_campaign_sign_on_page_does_not_exist(client):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    assert client.get(f"/c/{campaign.slug}/support/ally/").status_code == 404


def test_logged_in_verified_user_is_confirmed_at_once(
    client, django_capture_on_commit_callbacks, celery_eager
):
    from allauth.account.models import EmailAddress

    user = UserFactory(email="ida@example.org", first_name="Ida", last_name="Wells")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.force_login(user)
    campaign = CampaignFactory()
    page = client.get(f"/c/{campaign.slug}/support/ally/").content.decode()
    assert 'value="Ida Wells"' in page
    response = sign_on(client, campaign, django_capture_on_commit_callbacks, email="")
    assert response["Location"] == f"/c/{campaign.slug}/support/ally/thanks/"
    supporter = Supporter.objects.get(campaign=campaign)
    assert supporter.user == user
    assert supporter.email == "ida@example.org"
    assert supporter.is_confirmed
    assert Campaign.objects.get(pk=campaign.pk).supporter_count == 1
    assert [m.subject for m in mail.outbox] == [
        f"[Rallyround] Welcome, you're an Ally of {campaign.title}"
    ]


def test_logged_in_unverified_user_still_confirms_by_email(
    client, django_capture_on_commit_callbacks, celery_eager
):
    user = UserFactory(email="new@example.org")
    client.force_login(user)
    campaign = CampaignFactory()
    sign_on(client, campaign, django_capture_on_commit_callbacks, email="new@example.org")
    supporter = Supporter.objects.get(campaign=campaign)
    assert supporter.confirmed_at is None
    assert supporter.user is None
    assert "Confirm your support" in mail.outbox[0].subject


def test_source_and_utm_from_the_campaign_visit_are_kept_on_the_supporter(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    client.get(
        f"/c/{campaign.slug}/support/ally/?source=flyer&utm_source=newsletter"
        "&utm_medium=email&utm_campaign=fall",
        HTTP_REFERER="https://news.example.com/story",
    )
    sign_on(client, campaign, django_capture_on_commit_callbacks)
    supporter = Supporter.objects.get(campaign=campaign)
    assert supporter.source == "flyer"
    assert (supporter.utm_source, supporter.utm_medium, supporter.utm_campaign) == (
        "newsletter",
        "email",
        "fall",
    )
    assert supporter.referrer == "https://news.example.com/story"


def test_unsubscribe_link_needs_a_button_press(client):
    campaign = CampaignFactory()
    supporter = SupporterFactory(campaign=campaign, consent_updates=True)
    url = f"/c/{campaign.slug}/unsubscribe/{supporter.confirm_token}/"
    assert b"Stop campaign updates?" in client.get(url).content
    supporter.refresh_from_db()
    assert supporter.consent_updates is True
    assert b"unsubscribed" in client.post(url).content
    supporter.refresh_from_db()
    assert supporter.consent_updates is False
    assert supporter.consent_updates_at is not None


def test_a_forged_forwarded_for_header_does_not_dodge_the_ip_limit(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    for i in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                f"/c/{campaign.slug}/support/ally/",
                form_data(email=f"p{i}@example.org"),
                HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
            )
    response = client.post(
        f"/c/{campaign.slug}/support/ally/",
        form_data(email="late@example.org"),
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )
    assert response.status_code == 429


def test_error_messages_are_tied_to_their_inputs_for_screen_readers(client):
    campaign = CampaignFactory()
    body = client.post(
        f"/c/{campaign.slug}/support/ally/", form_data(name="", postal_code="")
    ).content.decode()
    assert re.search(
        r'<input[^>]+aria-describedby="id_name-error"[^>]+aria-invalid="true"', body
    ) or re.search(r'<input[^>]+aria-invalid="true"[^>]+aria-describedby="id_name-error"', body)
    assert 'id="id_name-error"' in body


def test_a_live_campaign_past_its_deadline_takes_no_more_sign_ons(client):
    import datetime as dt

    from django.utils import timezone

    campaign = CampaignFactory(deadline=timezone.now() - dt.timedelta(minutes=1))
    response = client.post(f"/c/{campaign.slug}/support/ally/", form_data())
    assert "its deadline has passed" in response.content.decode()
    assert not Supporter.objects.exists()
