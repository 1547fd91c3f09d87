"""Take-action pages through HTTP: identify, report, counts, ticks, limits, CSRF, petitions,
events, and the section on the campaign page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from actions.models import ActionCompletion, CallOutcome
from supporters.models import Supporter
from tests.actions.factories import (
    ActionFactory,
    ActionLinkFactory,
    CallTargetFactory,
    email_action,
    event_action,
    petition_action,
)
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db


def detail(action) -> str:
    return f"/c/{action.campaign.slug}/act/{action.pk}/"


def identify(client, action, confirm=True, **overrides):
    """Tell the page who you are; with `confirm`, also open the link emailed to that address
    (issue 12: what a typed address reports counts only once the address is proven)."""
    data = {"name": "Rosa Parks", "email": "rosa@example.org", "postal_code": "94609"}
    data.update(overrides)
    response = client.post(detail(action) + "who/", data)
    if confirm:
        open_emailed_link(client, action, data["email"])
    return response


def open_emailed_link(client, action, email):
    """What the link in the take-action email does (its token is made the same way)."""
    from actions.services import actor_link_token

    supporter = Supporter.objects.filter(campaign=action.campaign, email=email.lower()).first()
    if supporter is None:  # the sign-on was refused
        return None
    token = actor_link_token(supporter=supporter)
    return client.post(f"{detail(action)}continue/{token}/")


def report(client, action, target, outcome="left_voicemail"):
    return client.post(detail(action) + "call/", {"target": target.pk, "outcome": outcome})


def logged_in_supporter(client, campaign, tier="ally", **kwargs):
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    supporter = SupporterFactory(
        campaign=campaign, user=user, email=user.email, tier=tier, **kwargs
    )
    client.force_login(user)
    return supporter


# --- calls ------------------------------------------------------------------------------------
def test_anonymous_visitor_is_asked_who_they_are_before_reporting(client):
    target = CallTargetFactory()
    action = target.action
    html = client.get(detail(action)).content.decode()
    assert "Who’s calling?" in html
    assert "[your name]" in html
    assert f'href="tel:{target.tel}"' in html
    response = report(client, action, target)
    assert response.status_code == 302
    assert response["Location"].endswith("#who")
    assert not CallOutcome.objects.exists()


def test_signing_on_fills_the_script_and_the_call_counts_once(client):
    target = CallTargetFactory(name="Senator Feinstein")
    action = target.action
    response = identify(client, action, confirm=False)
    assert response.status_code == 302
    supporter = Supporter.objects.get(campaign=action.campaign, email="rosa@example.org")
    assert supporter.confirmed_at is None  # typing an address proves nothing
    html = client.get(detail(action)).content.decode()
    assert '<strong class="script__value">Rosa Parks</strong>' in html
    assert '<strong class="script__value">94609</strong>' in html

    assert report(client, action, target).status_code == 302
    assert report(client, action, target).status_code == 302  # a replay
    target.refresh_from_db()
    assert target.voicemail_count == 0  # counted once the address is confirmed (issue 12)
    open_emailed_link(client, action, "rosa@example.org")
    html = client.get(detail(action)).content.decode()
    assert "Be among the first to call" in html  # under the threshold: an invitation
    assert "You reported: “I left a voicemail”" in html
    target.refresh_from_db()
    assert target.voicemail_count == 1


def test_typing_someone_elses_email_neither_rewrites_nor_reveals_their_name(client):
    action = ActionFactory()
    CallTargetFactory(action=action)
    owner = SupporterFactory(campaign=action.campaign, email="ana@example.org", name="Ana Real")
    identify(
        client, action, confirm=False, name="Mallory", email="ana@example.org", postal_code="10001"
    )
    owner.refresh_from_db()
    assert owner.name == "Ana Real"
    assert owner.postal_code == "94609"
    html = client.get(detail(action)).content.decode()
    assert "Ana Real" not in html
    # Issue 12: the typed address is not an identity; its owner is emailed a link instead.
    assert "We emailed a link to ana@example.org" in html


def test_identify_form_errors_are_sentences_and_create_nothing(client):
    action = CallTargetFactory().action
    response = identify(client, action, email="not an email", postal_code="!")
    assert response.status_code == 400
    html = response.content.decode()
    assert "doesn&#x27;t look like an email address" in html
    assert "Please enter a ZIP or postal code" in html
    assert not Supporter.objects.exists()


def test_logged_in_supporter_reports_without_signing_on(client):
    target = CallTargetFactory()
    supporter = logged_in_supporter(client, target.action.campaign, name="June Jordan")
    html = client.get(detail(target.action)).content.decode()
    assert "Who’s calling?" not in html
    assert '<strong class="script__value">June Jordan</strong>' in html
    report(client, target.action, target, "talked_to_staff")
    assert CallOutcome.objects.get().supporter == supporter


def test_missing_outcome_is_explained_and_nothing_counts(client):
    target = CallTargetFactory()
    identify(client, target.action)
    response = client.post(detail(target.action) + "call/", {"target": target.pk})
    assert response.status_code == 400
    assert "Please tell us how the call went." in response.content.decode()
    assert not CallOutcome.objects.exists()


def test_reports_are_rate_limited_per_supporter_with_a_clear_message(client, settings):
    settings.ACTION_RATE_LIMITS = {"supporter": 2, "ip": 100}
    action = ActionFactory()
    targets = [CallTargetFactory(action=action) for _ in range(3)]
    identify(client, action)
    report(client, action, targets[0])
    report(client, action, targets[1])
    response = report(client, action, targets[2])
    assert response.status_code == 429
    assert "Please wait a little and try again" in response.content.decode()
    assert CallOutcome.objects.count() == 2


def test_reports_are_rate_limited_per_network(settings):
    settings.ACTION_RATE_LIMITS = {"supporter": 100, "ip": 2}
    action = ActionFactory()
    target = CallTargetFactory(action=action)
    for n in range(2):
        c = Client()
        identify(c, action, email=f"p{n}@example.org")
        assert report(c, action, target).status_code == 302
    c = Client()
    identify(c, action, email="p3@example.org")
    assert report(c, action, target).status_code == 429
    assert CallOutcome.objects.count() == 2


def test_posts_need_the_csrf_token():
    target = CallTargetFactory()
    client = Client(enforce_csrf_checks=True)
    response = identify(client, target.action)
    assert response.status_code == 403
    assert not Supporter.objects.exists()


# --- email ------------------------------------------------------------------------------------
def test_email_action_offers_the_letter_mailto_and_counts_i_sent_it_once(client):
    action = email_action()
    identify(client, action)
    html = client.get(detail(action)).content.decode()
    assert "Sincerely,\nRosa Parks (94609)</textarea>" in html
    assert 'href="mailto:ceo@example.com?subject=Reunite%20the%20children%20%26%20their' in html
    assert "Rosa%20Parks%20%2894609%29" in html
    assert 'src="/static/js/actions.js"' in html
    assert "<script>" not in html  # CSP: no inline script
    client.post(detail(action) + "sent/")
    client.post(detail(action) + "sent/")
    action.refresh_from_db()
    assert action.completed_count == 1
    assert "Be among the first to write" in client.get(detail(action)).content.decode()


# --- events -----------------------------------------------------------------------------------
def test_event_rsvp_counts_once_and_the_ics_downloads(client):
    action = event_action()
    identify(client, action)
    client.post(detail(action) + "rsvp/")
    client.post(detail(action) + "rsvp/")
    action.refresh_from_db()
    assert action.completed_count == 1
    html = client.get(detail(action)).content.decode()
    assert "You’re going" in html
    assert "1 of 2 left" in html
    response = client.get(detail(action) + "event.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    assert b"BEGIN:VEVENT" in response.content


def test_full_event_refuses_an_rsvp_and_says_so(client):
    action = event_action(event_capacity=1)
    SupporterFactory(campaign=action.campaign)
    from actions.services import event_rsvp

    event_rsvp(action=action, supporter=SupporterFactory(campaign=action.campaign))
    identify(client, action)
    response = client.post(detail(action) + "rsvp/")
    assert response.status_code == 409
    assert "every place is taken" in response.content.decode()
    action.refresh_from_db()
    assert action.completed_count == 1


# --- petitions --------------------------------------------------------------------------------
def test_petition_signature_counts_only_after_the_email_button(
    client, django_capture_on_commit_callbacks, celery_eager
):
    action = petition_action()
    html = client.get(detail(action)).content.decode()
    assert "Be among the first to sign." in html
    assert "0</strong> have signed" not in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            detail(action) + "sign/",
            {"name": "Rosa Parks", "email": "Rosa@Example.org", "postal_code": "94609"},
        )
    assert response["Location"] == detail(action) + "check-email/"
    action.refresh_from_db()
    assert action.completed_count == 0
    (message,) = mail.outbox
    assert "Confirm your signature" in message.subject
    link = re.search(r"http://\S+/confirm/\S+/", message.body).group(0)
    path = link.split("127.0.0.1:8000", 1)[1]
    assert "Confirm my signature" in client.get(path).content.decode()
    action.refresh_from_db()
    assert action.completed_count == 0  # a GET (a mail scanner) confirms nothing
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path)
        client.post(path)
    action.refresh_from_db()
    assert action.completed_count == 1
    supporter = Supporter.objects.get(email="rosa@example.org")
    assert supporter.confirmed_at is not None
    action.campaign.refresh_from_db()
    assert action.campaign.supporter_count == 1
    assert "Be among the first to sign." in client.get(detail(action)).content.decode()


def test_logged_in_owner_signs_at_once(client):
    action = petition_action()
    user = UserFactory(first_name="June", last_name="Jordan")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.force_login(user)
    client.post(detail(action) + "sign/", {"name": "June Jordan", "postal_code": "94609"})
    client.post(detail(action) + "sign/", {"name": "June Jordan", "postal_code": "94609"})
    action.refresh_from_db()
    assert action.completed_count == 1
    assert ActionCompletion.objects.get().supporter.user == user


# --- visibility -------------------------------------------------------------------------------
def test_unpublished_actions_are_404_and_not_yet_open_ones_a_teaser(client):
    unpublished = ActionFactory(published=False)
    later = ActionFactory(starts_at=timezone.now() + dt.timedelta(hours=2), advocates_first_hours=4)
    assert client.get(detail(unpublished)).status_code == 404
    # Issue 16: everyone sees when it opens (and that Advocates start first), never a 404.
    teaser = client.get(detail(later))
    assert teaser.status_code == 200
    html = teaser.content.decode()
    assert later.title in html
    assert "Opens to everyone on" in html
    assert "PST" in html or "PDT" in html  # in the campaign's zone, named
    assert "Advocates and Champions start" in html
    assert later.call_script[:20] not in html  # the action itself stays closed
    assert client.post(detail(later) + "sent/").status_code == 404
    logged_in_supporter(client, later.campaign, tier="advocate")
    html = client.get(detail(later)).content.decode()
    assert "Advocates first" in html


def test_draft_campaign_actions_are_hidden_from_the_public(client):
    action = ActionFactory(campaign=CampaignFactory(status="draft"))
    assert client.get(detail(action)).status_code == 404
    assert client.get(f"/c/{action.campaign.slug}/act/").status_code == 404


def test_list_ticks_what_the_visitor_did_and_shows_totals(client):
    campaign = CampaignFactory()
    call = ActionFactory(campaign=campaign, title="Call Congress", position=1)
    target = CallTargetFactory(action=call)
    mailer = email_action(campaign=campaign, title="Email the CEO", position=2)
    ActionLinkFactory(
        action__campaign=campaign, action__title="Give to partners", action__position=3
    )
    identify(client, call)
    report(client, call, target)
    html = client.get(f"/c/{campaign.slug}/act/").content.decode()
    assert html.index("Call Congress") < html.index("Email the CEO") < html.index("Give to")
    assert html.count("action-row--done") == 1
    assert "Be among the first to call" in html
    assert "Be among the first to write" in html
    assert "0 emails sent" not in html
    assert mailer.title in html


def test_give_learn_volunteer_pages_list_links_and_contacts_in_order(client):
    first = ActionLinkFactory(title="RAICES", position=1, contact_phone="(210) 226-7722")
    ActionLinkFactory(action=first.action, title="KIND", position=0, contact_email="a@kind.org")
    html = client.get(detail(first.action)).content.decode()
    assert html.index("KIND") < html.index("RAICES")
    assert 'href="tel:2102267722"' in html
    assert 'href="mailto:a@kind.org"' in html


# --- campaign page ----------------------------------------------------------------------------
def test_campaign_page_shows_take_action_with_ticks_and_totals(client):
    campaign = CampaignFactory()
    action = ActionFactory(campaign=campaign, title="Call your senators", outcome_count=1204)
    target = CallTargetFactory(action=action)
    identify(client, action)
    report(client, action, target)
    html = client.get(f"/c/{campaign.slug}/").content.decode()
    assert "Take action" in html
    assert "1,205 calls made" in html
    assert "You did this" in html


def test_campaign_page_section_runs_constant_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = CampaignFactory()
    action = ActionFactory(campaign=campaign)
    target = CallTargetFactory(action=action)
    email_action(campaign=campaign)
    identify(client, action)
    report(client, action, target)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/c/{campaign.slug}/")
    from actions import services

    for _ in range(30):
        supporter = SupporterFactory(campaign=campaign)
        services.call_outcome_report(
            action=action, target_id=target.pk, supporter=supporter, outcome="talked_to_staff"
        )
        services.action_complete(action=action, supporter=supporter)
    with CaptureQueriesContext(connection) as many:
        html = client.get(f"/c/{campaign.slug}/").content.decode()
    assert "31 calls made" in html
    assert len(many.captured_queries) == len(few.captured_queries)


def test_organizers_preview_unpublished_actions_and_the_public_cannot(client):
    from django.contrib.auth.models import Group

    action = ActionFactory(published=False, title="Draft call-in day")
    organizer = UserFactory(is_staff=True)
    organizer.groups.add(Group.objects.get(name="Organizers"))
    action.campaign.organization.members.add(organizer)
    assert client.get(detail(action)).status_code == 404
    client.force_login(organizer)
    html = client.get(detail(action)).content.decode()
    assert "Preview." in html
    assert "not published yet" in html
    assert "Draft call-in day" not in client.get(f"/c/{action.campaign.slug}/act/").content.decode()


def test_campaign_page_shows_six_actions_and_links_to_all(client):
    campaign = CampaignFactory()
    for i in range(8):
        ActionFactory(campaign=campaign, title=f"Action number {i}", position=i)
    html = client.get(f"/c/{campaign.slug}/").content.decode()
    assert "Action number 5" in html
    assert "Action number 6" not in html
    assert "All 8 ways to take action" in html


def test_sign_ons_are_rate_limited_per_network_and_create_nobody(client, settings):
    settings.SIGN_ON_RATE_LIMITS = {**settings.SIGN_ON_RATE_LIMITS, "ip": 1}
    action = CallTargetFactory().action
    identify(client, action, email="first@example.org")
    response = identify(client, action, email="second@example.org")
    assert response.status_code == 429
    assert "Too many sign-ons from your network" in response.content.decode()
    assert not Supporter.objects.filter(email="second@example.org").exists()


def test_a_proven_visitor_signs_the_petition_without_retyping_their_email(client):
    """Issue 16: a person who gave name, email and ZIP once (and opened the emailed link) is
    not asked again. The petition used to show an empty email field and answer 400."""
    call = ActionFactory()
    CallTargetFactory(action=call)
    petition = petition_action(campaign=call.campaign)
    identify(client, call)  # name, email, ZIP once, then the emailed link
    html = client.get(detail(petition)).content.decode()
    assert 'name="email"' not in html
    assert "Signing as <strong>Rosa Parks</strong>" in html
    response = client.post(detail(petition) + "sign/", {})
    assert response.status_code == 302
    petition.refresh_from_db()
    assert petition.completed_count == 1
    assert ActionCompletion.objects.get(action=petition).supporter.email == "rosa@example.org"


def test_a_visitor_who_only_typed_an_address_is_asked_for_it_again(client):
    """A typed address proves nothing: the petition does not act from it alone."""
    call = ActionFactory()
    petition = petition_action(campaign=call.campaign)
    identify(client, call, confirm=False)
    assert 'name="email"' in client.get(detail(petition)).content.decode()
    response = client.post(detail(petition) + "sign/", {"name": "Rosa Parks"})
    assert response.status_code == 400
    petition.refresh_from_db()
    assert petition.completed_count == 0


def test_a_signed_in_supporter_of_another_campaign_finds_their_name_and_zip_filled_in(client):
    """One identity across campaigns: what a verified account gave once is offered again."""
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    SupporterFactory(user=user, email=user.email, name="June Jordan", postal_code="10027")
    action = ActionFactory()  # another campaign
    client.force_login(user)
    html = client.get(detail(action)).content.decode()
    assert 'value="June Jordan"' in html
    assert 'value="10027"' in html
