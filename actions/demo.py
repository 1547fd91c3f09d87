"""Demo take-action content for `manage.py seed_demo_actions` (local development).

Idempotent: a campaign that already has actions is left alone. The content follows the
organizer pages in the project's reference material (call script, sample email, petition,
rally, partners to give to, reading list, volunteering).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from actions.models import Action, ActionLink, CallTarget, CongressTargets
from campaigns.models import Campaign
from congress.demo import KEY_MESSAGES, congress_demo_seed

DEMO_CAMPAIGN = "end-child-detention"

CALL_SCRIPT = (
    "Hello, I'd like to leave a message for {target}. My name is {name} and my zip code is "
    "{zip}. I expect you to personally intervene and "
    "demand that immigrant families be treated humanely and that children not be separated "
    "from their parents. I also ask you to open an investigation into the treatment of "
    "immigrants in ICE custody, and to hold hearings where the officials responsible testify. "
    "Thank you."
)
LETTER = (
    "I am writing to you because your company has a contract with the Office of Refugee "
    "Resettlement to house migrant children.\n\n"
    "You have the power to push back against the policy of taking migrant children from their "
    "parents. I am asking that you:\n\n"
    "1. Allow government officials, religious leaders, mental health professionals and "
    "attorneys into your facilities to meet with and provide aid and comfort to the children "
    "housed there.\n"
    "2. Do everything you can to ensure that these children are swiftly and permanently "
    "reunited with their families.\n\n"
    "Sincerely,\n{name}\n{zip}"
)
PETITION = (
    "Seeking asylum is not illegal. There is no legal requirement to hold asylum seekers in "
    "over-crowded, unsanitary and unsafe detention camps.\n\n"
    "We call on the Department of Homeland Security and Congress to **restore the Family Case "
    "Management Program**: community supervision with social workers, which keeps families "
    "together, makes sure they attend their hearings and costs far less than detention."
)


def demo_actions_seed(*, slug: str = DEMO_CAMPAIGN) -> list[str]:
    """Give the demo campaign its actions if it has none. Returns what was created."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None or campaign.actions.exists():
        return []
    now = timezone.now()
    rally = (now + dt.timedelta(days=12)).astimezone(campaign.tz)
    rally = rally.replace(hour=10, minute=0, second=0, microsecond=0)
    briefing = (now + dt.timedelta(days=2)).astimezone(campaign.tz)
    briefing = briefing.replace(hour=18, minute=0, second=0, microsecond=0)
    created: list[str] = []
    with transaction.atomic():
        call = _action(
            campaign,
            created,
            kind=Action.Kind.CALL,
            position=0,
            title="Call your members of Congress",
            why_it_matters=(
                "Congress can demand hearings and stop funding family separation. Offices count "
                "every call: a few minutes of your time is the loudest signal they get."
            ),
            call_script=CALL_SCRIPT,
            congress_targets=CongressTargets.BOTH,
            key_messages=KEY_MESSAGES,
        )
        # Each supporter's own representative and senators come from their ZIP code; these are
        # called by everyone.
        for i, (name, office, phone) in enumerate(
            [
                ("United States Mission to the UN", "New York", "(212) 415-4000"),
            ]
        ):
            CallTarget.objects.create(
                action=call, name=name, office=office, phone=phone, position=i
            )
        _action(
            campaign,
            created,
            kind=Action.Kind.EMAIL,
            position=1,
            title="Email the CEO of a detention contractor",
            why_it_matters=(
                "Companies that house detained children answer to their customers and their "
                "reputation. Tell the CEO the world is watching."
            ),
            email_to="office-of-the-ceo@contractor.example",
            email_to_name="Office of the CEO",
            email_subject="Reunite the children in your care with their families",
            email_body=LETTER,
        )
        _action(
            campaign,
            created,
            kind=Action.Kind.PETITION,
            position=2,
            title="Fund the Family Case Management Program",
            why_it_matters="A humane, cheaper alternative to detention already exists.",
            petition_text=PETITION,
        )
        _action(
            campaign,
            created,
            kind=Action.Kind.EVENT,
            position=3,
            title="Families Belong Together rally",
            why_it_matters="This is our in-the-streets moment. Bring a friend and a sign.",
            event_starts_at=rally,
            event_ends_at=rally + dt.timedelta(hours=2),
            event_timezone=campaign.timezone,
            event_place="Oakland City Hall",
            event_address="1 Frank H. Ogawa Plaza\nOakland, CA 94612",
            event_capacity=500,
        )
        _action(
            campaign,
            created,
            kind=Action.Kind.EVENT,
            position=4,
            title="Advocates' strategy briefing",
            why_it_matters="Hear the plan for the hearings from the campaign team, and ask.",
            starts_at=now + dt.timedelta(hours=12),
            advocates_first_hours=48,
            event_starts_at=briefing,
            event_ends_at=briefing + dt.timedelta(hours=1),
            event_timezone=campaign.timezone,
            event_online_url="https://meet.example.org/strategy-briefing",
            event_capacity=100,
        )
        give = _action(
            campaign,
            created,
            kind=Action.Kind.GIVE,
            position=5,
            title="Give to partners and donate goods",
            why_it_matters=(
                "Legal help decides whether a family is reunited. Private shelters also need "
                "books, clothing and toys."
            ),
        )
        _links(
            give,
            [
                (
                    "RAICES",
                    "https://www.raicestexas.org/",
                    "Legal services for immigrant families.",
                ),
                ("Kids in Need of Defense (KIND)", "https://supportkind.org/", ""),
                ("Women's Refugee Commission", "https://www.womensrefugeecommission.org/", ""),
            ],
        )
        learn = _action(
            campaign,
            created,
            kind=Action.Kind.LEARN,
            position=6,
            title="Learn the facts",
            why_it_matters="Speak out and educate the people around you: start with the facts.",
        )
        _links(
            learn,
            [
                (
                    "Detention Watch Network: stories of detention",
                    "https://www.detentionwatchnetwork.org/",
                    "",
                ),
                ("ACLU: immigrants' rights", "https://www.aclu.org/issues/immigrants-rights", ""),
            ],
        )
        volunteer = _action(
            campaign,
            created,
            kind=Action.Kind.VOLUNTEER,
            position=7,
            title="Volunteer locally",
            why_it_matters=(
                "Visit people in detention, accompany them to court, interpret or babysit "
                "while parents are interviewed."
            ),
        )
        ActionLink.objects.create(
            action=volunteer,
            title="Detention visitation programs",
            url="https://www.freedomforimmigrants.org/",
            description="Find a visitation program near you.",
            position=0,
        )
        ActionLink.objects.create(
            action=volunteer,
            title="Court accompaniment in Oakland",
            description="Accompany families to immigration court and ICE check-ins.",
            contact_name="Campaign volunteer desk",
            contact_email="volunteer@example.org",
            contact_phone="(510) 306-7494",
            position=1,
        )
        congress_demo_seed(campaign=campaign, call_action=call, created=created)
    return created


def _action(campaign: Campaign, created: list[str], **fields) -> Action:
    action = Action(campaign=campaign, published=True, **fields)
    action.full_clean()
    action.save()
    created.append(f"action {action.title}")
    return action


def _links(action: Action, rows: list[tuple[str, str, str]]) -> None:
    for i, (title, url, description) in enumerate(rows):
        link = ActionLink(action=action, title=title, url=url, description=description, position=i)
        link.full_clean()
        link.save()
