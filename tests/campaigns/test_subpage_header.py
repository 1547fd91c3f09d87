"""Every page that belongs to one campaign but is not the campaign page wears the same head
(issue 16): the way back to the campaign page, the campaign bar, and the page's one h1 — one
include, campaigns/_subpage_header.html, instead of three styles of back link."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from actions.models import Action
from outreach.models import CampaignUpdate
from outreach.services import unsubscribe_token
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory, verified_user

pytestmark = pytest.mark.django_db


class SubpageHead(HTMLParser):
    """Counts h1 elements and remembers, inside the element marked data-subpage-header, the h1s
    and the href of the link marked data-campaign-link."""

    def __init__(self):
        super().__init__()
        self.headers = 0
        self.h1s = 0
        self.h1s_in_header = 0
        self.campaign_links: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, is the header)

    def _in_header(self) -> bool:
        return any(is_header for _, is_header in self._stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        is_header = "data-subpage-header" in attributes
        self.headers += is_header
        if tag == "h1":
            self.h1s += 1
            self.h1s_in_header += self._in_header()
        if tag == "a" and "data-campaign-link" in attributes and self._in_header():
            self.campaign_links.append(attributes.get("href", ""))
        if tag not in {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}:
            self._stack.append((tag, is_header))

    def handle_endtag(self, tag):
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break


def head_of(html: str) -> SubpageHead:
    parser = SubpageHead()
    parser.feed(html)
    return parser


@pytest.fixture
def world():
    campaign = CampaignFactory(title="Clean buses for every school", slug="clean-buses")
    user = verified_user(email="rosa@example.org")
    champion = SupporterFactory(campaign=campaign, user=user, email=user.email, tier="champion")
    pledge = PledgeFactory(
        campaign=campaign, supporter=champion, tier="champion", amount_cents=10_000
    )
    now = timezone.now()
    news = CampaignUpdate.objects.create(
        campaign=campaign, title="We met the council", body="It went **well**.", published_at=now
    )
    strategy = CampaignUpdate.objects.create(
        campaign=campaign,
        title="Our plan for March",
        body="Strategy.",
        audience=CampaignUpdate.Audience.ADVOCATES,
        published_at=now,
    )
    act = lambda kind, **kw: Action.objects.create(  # noqa: E731
        campaign=campaign, kind=kind, title=f"The {kind} action", published=True, **kw
    )
    actions = {
        "call": act("call", call_script="Hello, I live in your district."),
        "email": act(
            "email", email_to="board@example.org", email_subject="Buses", email_body="Please."
        ),
        "petition": act("petition", petition_text="We ask the board to fix the buses."),
        "event": act(
            "event",
            event_starts_at=now + dt.timedelta(days=3),
            event_place="Library",
            event_address="1 Main St",
        ),
        "teaser": act(
            "call",
            call_script="Soon.",
            starts_at=now + dt.timedelta(days=2),
            advocates_first_hours=24,
        ),
    }
    return {
        "campaign": campaign,
        "user": user,
        "pledge": pledge,
        "news": news,
        "strategy": strategy,
        "actions": actions,
    }


def subpages(w) -> tuple[list[str], list[str]]:
    """The sub-pages: those anyone may open, and those of the signed-in Champion."""
    slug, token, actions = w["campaign"].slug, w["pledge"].token, w["actions"]
    petition = actions["petition"].pk
    public = [
        f"/c/{slug}/support/ally/",
        f"/c/{slug}/support/ally/check-email/",
        f"/c/{slug}/support/ally/confirm/not-a-token/",
        f"/c/{slug}/support/ally/thanks/",
        f"/c/{slug}/unsubscribe/not-a-token/",
        f"/c/{slug}/updates/",
        f"/c/{slug}/updates/{w['news'].pk}/",
        f"/c/{slug}/updates/{w['strategy'].pk}/",  # locked for a visitor
        f"/c/{slug}/updates/unsubscribe/{unsubscribe_token(supporter=w['pledge'].supporter)}/",
        f"/c/{slug}/act/",
        *(f"/c/{slug}/act/{action.pk}/" for action in actions.values()),
        f"/c/{slug}/act/{petition}/check-email/",
        f"/c/{slug}/act/{petition}/confirm/not-a-token/",
        f"/c/{slug}/act/{actions['call'].pk}/continue/not-a-token/",
        f"/c/{slug}/resources/",
        f"/es/c/{slug}/updates/",
    ]
    champion = [
        f"/c/{slug}/support/advocate/",
        f"/c/{slug}/support/champion/",
        f"/pledges/{token}/",
        f"/pledges/{token}/card/",
        f"/pledges/{token}/confirm/",
        f"/pledges/{token}/new-card/",
        f"/me/share/{slug}/",
        f"/me/badge/{slug}/",
    ]
    return public, champion


def test_every_subpage_has_the_shared_head_one_h1_and_the_way_back(world, stripe_local):
    campaign = world["campaign"]
    public, champion = subpages(world)
    signed_in = Client()
    signed_in.force_login(world["user"])
    stranger = Client()
    stranger.force_login(verified_user(email="stranger@example.org"))
    visits = [(Client(), path) for path in public]
    visits += [(signed_in, path) for path in champion]
    visits += [(stranger, f"/me/badge/{campaign.slug}/")]  # "This is for Champions" (403)
    problems = {}
    for client, path in visits:
        response = client.get(path)
        if response.status_code not in {200, 400, 403, 404}:
            problems[path] = f"answered {response.status_code}"
            continue
        head = head_of(response.content.decode())
        back = "/es" + campaign.get_absolute_url() if path.startswith("/es/") else None
        found = {
            "headers": head.headers,
            "h1s": head.h1s,
            "h1s_in_header": head.h1s_in_header,
            "campaign_links": head.campaign_links,
        }
        expected = {
            "headers": 1,
            "h1s": 1,
            "h1s_in_header": 1,
            "campaign_links": [back or campaign.get_absolute_url()],
        }
        if found != expected:
            problems[path] = found
    assert problems == {}


def test_the_campaign_bar_shows_organization_progress_and_time_to_go(world):
    campaign = world["campaign"]
    campaign.pledged_cents = 25_000
    campaign.save()
    html = Client().get(f"/c/{campaign.slug}/updates/").content.decode()
    start = html.index('class="campaign-bar"')
    bar = html[start : html.index("</nav>", start)]
    assert campaign.organization.name in bar
    assert "$250 pledged of $1,000" in bar
    assert "29 days to go" in bar or "30 days to go" in bar
    assert 'style="width: 25%"' in bar
