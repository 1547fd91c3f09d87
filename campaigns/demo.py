"""Demo data for `manage.py seed_demo`: organizations, campaigns in several states, supporters,
pledges and two accounts, so a new developer sees a working platform at once.

Idempotent: everything is looked up by its slug or email first, and a campaign that exists is
left exactly as it is (a demo someone has been clicking through keeps its state).
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from campaigns import demo_images
from campaigns.images import campaign_hero_refresh, organization_logo_refresh
from campaigns.models import (
    Campaign,
    CoalitionMember,
    IssueArea,
    NewsLink,
    Organization,
    Section,
    Tier,
)
from campaigns.roles import ORGANIZERS, roles_ensure
from campaigns.services import (
    campaign_add_defaults,
    campaign_recount_supporters,
    campaign_transition,
)

C = Campaign.Status
DEMO_TZ = zoneinfo.ZoneInfo("America/Los_Angeles")
ADMIN_EMAIL = "admin@rallyround.local"
ORGANIZER_EMAIL = "organizer@rallyround.local"
# Local development only: `make run` prints them. Production never runs seed_demo.
DEFAULT_ADMIN_PASSWORD = "rallyround-admin"  # noqa: S105
DEFAULT_ORGANIZER_PASSWORD = "rallyround-organizer"  # noqa: S105

ISSUE_AREAS = [
    "Civil Rights",
    "Education",
    "Environment",
    "Health Care",
    "Housing",
    "Immigration",
    "Social Justice",
    "Transit",
]

ORGANIZATIONS = [
    {
        "slug": "physicians-for-humane-care",
        "name": "Physicians for Humane Care",
        "initials": "PH",
        "colour": "#1f5f8b",
        "website": "https://example.org/physicians-for-humane-care",
        "address": "490 43rd Street\nSuite 350\nOakland, CA 94609",
        "phone": "(510) 306-7494",
        "about": (
            "Physicians for Humane Care backs campaigns like these because we believe that "
            "communities have what it takes to change unjust policies, but often lack the "
            "support and resources they need to succeed.\n\n"
            "We're on a mission to change that: our members are doctors, nurses and public "
            "health researchers who put their clinical evidence to work for people the system "
            "leaves behind."
        ),
        "about_es": (
            "Physicians for Humane Care apoya campañas como estas porque creemos que las "
            "comunidades tienen lo necesario para cambiar políticas injustas, pero a menudo les "
            "faltan el apoyo y los recursos para lograrlo.\n\n"
            "Nuestra misión es cambiar eso: somos médicos, enfermeras e investigadores de salud "
            "pública que ponen su evidencia clínica al servicio de las personas que el sistema "
            "deja atrás."
        ),
    },
    {
        "slug": "eastside-tenants-union",
        "name": "Eastside Tenants Union",
        "initials": "ET",
        "colour": "#7a3e9d",
        "website": "https://example.org/eastside-tenants",
        "address": "1820 East 14th Street\nOakland, CA 94606",
        "phone": "(510) 555-0142",
        "about": (
            "The Eastside Tenants Union is a member-run union of renters. We knock on doors, "
            "run legal clinics every Saturday and organize buildings to bargain with landlords."
        ),
    },
    {
        "slug": "valley-clean-air-coalition",
        "name": "Valley Clean Air Coalition",
        "initials": "VC",
        "colour": "#2f6b3a",
        "website": "https://example.org/valley-clean-air",
        "address": "2130 Fulton Street\nFresno, CA 93721",
        "phone": "(559) 555-0187",
        "about": (
            "Parents, farmworkers and clinicians from across the San Joaquin Valley working "
            "for air that is safe to breathe, in every neighbourhood."
        ),
    },
]

FIRST = [
    "Adam", "Zach", "Matt", "Maria", "Lena", "Jorge", "Priya", "Samira", "Tom", "Keisha",
    "Daniel", "Rosa", "Wei", "Fatima", "Luis", "Hannah", "Omar", "Grace", "Ivan", "Nadia",
]  # fmt: skip
LAST = [
    "Sakowicz", "Rickrode-Fernandez", "Iverson-Comelo", "Okafor", "Nguyen", "Alvarez",
    "Patel", "Haddad", "Brennan", "Washington", "Kim", "Morales", "Chen", "Rahman",
    "Ortega", "Goldberg", "Farouk", "Lindqvist", "Petrov", "Mensah",
]  # fmt: skip


@dataclass
class DemoCampaign:
    slug: str
    org: str
    title: str
    summary: str
    issue_areas: list[str]
    campaign_type: str
    goal_cents: int
    days_left: float
    status: str
    colour: str
    hero: dict
    hero_caption: str
    hero_credit: str
    hero_alt: str
    sections: list[tuple[str, str]]
    supporters: int
    pledges: list[int]
    champions_listed: int
    coalition: list[tuple[str, str, bool]] = field(default_factory=list)
    news: list[tuple[str, str, str, int]] = field(default_factory=list)
    contact: tuple[str, str, str] = ("", "", "")


CAMPAIGNS = [
    DemoCampaign(
        slug="end-child-detention",
        org="physicians-for-humane-care",
        title="Stop holding migrant children at detention centers",
        summary=(
            "The research is clear: detaining children in government facilities and separating "
            "them from their parents is both inhumane and harms the development of the child."
        ),
        issue_areas=["Immigration", "Civil Rights", "Health Care", "Social Justice"],
        campaign_type=Campaign.Type.NATIONAL,
        goal_cents=500_000,
        days_left=23.4,
        status=C.LIVE,
        colour="#1f5f8b",
        hero={
            "seed": 7,
            "top": "#f2b880",
            "bottom": "#4a6fa5",
            "accent": "#ffe3b0",
            "motif": "fence",
        },  # fmt: skip
        hero_caption="A fence line at a processing center in McAllen, Texas.",
        hero_credit="Rallyround demo illustration",
        hero_alt="Illustration of a tall chain-link fence against an evening sky.",
        sections=[
            (
                "The Goal of our Campaign",
                "This is a campaign to improve the conditions of migrants held in detention and "
                "lessen the harm done to them and their children — and to end the detention of "
                "children altogether.",
            ),
            (
                "The Problem with Detention Centers",
                "We have seen firsthand the harm that detention can have on the physical and "
                "mental health and wellbeing of all migrants, especially children and pregnant "
                "women.\n\n"
                "Under U.S. and international law, people fleeing violence are allowed to seek "
                "protection and apply for asylum. Instead, thousands have been sent to "
                "immigration detention centers to await decisions on their fate — including "
                "children and pregnant women who should not be held in detention at all.\n\n"
                "News reports and testimony have documented **no running water, no soap, no "
                "beds and inedible food**. Medications have been taken away from people who "
                "need them, and outbreaks have gone without vaccines. This is unacceptable.\n\n"
                "> The evidence tells us that there is no acceptable amount of time for a child "
                "to be held in detention.\n\n"
                "Physicians from every specialty — and professional bodies such as the American "
                "Academy of Pediatrics, the American Academy of Family Physicians and the "
                "American Medical Association — agree on this point.",
            ),
            (
                "The Solution",
                "Asylum seekers, and above all children, should await the decision on their "
                "claims with their families, in the community, supported by case management "
                "programs that already exist and cost a fraction of detention.",
            ),
            (
                "Our Strategy to Win this Campaign",
                "Along with a strong coalition supporting this campaign, we will submit an "
                "**administrative petition** to the Department of Homeland Security (DHS).\n\n"
                "An administrative petition is a legal document requesting a specific rule "
                "change. Agencies like DHS must reply to it within a set period of time. Your "
                "pledges pay for the legal drafting, the medical evidence review and the public "
                "campaign that makes sure the petition cannot be ignored.",
            ),
        ],
        supporters=412,
        pledges=[2800, 1500, 5000, 2800, 1500, 10000, 2500, 2800, 1500, 4000] * 6,
        champions_listed=6,
        coalition=[
            ("Border Health Collaborative", "Campaign partner", True),
            ("Families Together Legal Aid", "Legal partner", True),
            ("Pediatric Nurses Alliance", "Endorsing organization", True),
        ],
        news=[
            (
                "Doctors call for an end to child detention",
                "https://example.org/news/1",
                "The Valley Ledger",
                12,
            ),
            (
                "What an administrative petition can (and cannot) do",
                "https://example.org/news/2",
                "Civic Law Review",
                30,
            ),
        ],  # fmt: skip
        contact=("Dr. Elena Ruiz", "campaigns@humanecare.example.org", "(510) 306-7494"),
    ),
    DemoCampaign(
        slug="fix-the-14th-street-buildings",
        org="eastside-tenants-union",
        title="Heat and hot water for every 14th Street tenant",
        summary=(
            "Three buildings, 240 families, two winters without reliable heat. We are taking "
            "the landlord to the rent board — and we are nearly there."
        ),
        issue_areas=["Housing", "Social Justice"],
        campaign_type=Campaign.Type.LOCAL,
        goal_cents=600_000,
        days_left=5.5,
        status=C.LIVE,
        colour="#6a2f8a",
        hero={
            "seed": 3,
            "top": "#2b1d4f",
            "bottom": "#c06c84",
            "accent": "#ffd38a",
            "motif": "houses",
        },  # fmt: skip
        hero_caption="Lights on along East 14th Street.",
        hero_credit="Rallyround demo illustration",
        hero_alt="Illustration of a row of small houses with lit windows at dusk.",
        sections=[
            ("The Goal", "Working heat and hot water in all 240 apartments by December 1."),
            (
                "The Problem",
                "For two winters, tenants at 1820, 1826 and 1840 East 14th Street have gone "
                "weeks at a time without heat. Repair requests go unanswered; families run "
                "space heaters that trip the old wiring.",
            ),
            (
                "The Solution",
                "A rent board petition forcing repairs, with rent reductions for every month "
                "the building was out of compliance.",
            ),
            (
                "Our Strategy",
                "We have the inspection reports. Pledges pay for an expert building inspector "
                "and the filing fees, and fund interpreters so every tenant can testify.",
            ),
        ],
        supporters=188,
        pledges=[2800, 1500, 5000, 10000, 2800, 7500, 1500, 2500] * 17 + [1600],
        champions_listed=4,
        coalition=[("Oakland Legal Clinic", "Legal partner", True)],
        news=[
            (
                "Tenants say landlord ignored heat complaints",
                "https://example.org/news/3",
                "East Bay Courier",
                4,
            )
        ],  # fmt: skip
        contact=("Marcus Bell", "organize@eastsidetenants.example.org", "(510) 555-0142"),
    ),
    DemoCampaign(
        slug="clean-air-near-schools",
        org="valley-clean-air-coalition",
        title="Clean air monitors at every Valley school",
        summary=(
            "Children breathe the worst air in the state. Real-time monitors at every school "
            "would tell parents when to keep them indoors."
        ),
        issue_areas=["Environment", "Health Care", "Education"],
        campaign_type=Campaign.Type.STATE,
        goal_cents=2_500_000,
        days_left=-9,
        status=C.FAILED,
        colour="#2f6b3a",
        hero={
            "seed": 11,
            "top": "#9fb8c8",
            "bottom": "#d9c7a3",
            "accent": "#fff2cc",
            "motif": "towers",
        },  # fmt: skip
        hero_caption="Smokestacks on the edge of the Valley.",
        hero_credit="Rallyround demo illustration",
        hero_alt="Illustration of smokestacks and hazy hills under a pale sky.",
        sections=[
            ("The Goal", "An air quality monitor at each of the Valley's 1,100 public schools."),
            (
                "The Problem",
                "Regional monitors are miles apart; the air at a school next to a freeway can "
                "be far worse than the reading parents see.",
            ),
            ("The Solution", "A state budget line for school-site monitors, and public data."),
            ("Our Strategy", "Testimony at the Assembly budget hearings, backed by our data."),
        ],
        supporters=96,
        pledges=[2800, 1500, 5000, 2500] * 10,
        champions_listed=3,
        coalition=[("Valley Parents for Health", "Endorsing organization", True)],
        contact=("Ana Soto", "hello@valleycleanair.example.org", "(559) 555-0187"),
    ),
    DemoCampaign(
        slug="free-transit-for-students",
        org="eastside-tenants-union",
        title="Free bus passes for every high school student",
        summary="No student should miss class because the fare went up.",
        issue_areas=["Transit", "Education"],
        campaign_type=Campaign.Type.LOCAL,
        goal_cents=300_000,
        days_left=41,
        status=C.LIVE,
        colour="#b8420f",
        hero={
            "seed": 21,
            "top": "#ffcf99",
            "bottom": "#b8420f",
            "accent": "#fff6e0",
            "motif": "houses",
        },  # fmt: skip
        hero_caption="Morning light over the bus route.",
        hero_credit="Rallyround demo illustration",
        hero_alt="Illustration of houses beneath a warm orange morning sky.",
        sections=[
            ("The Goal", "A free youth pass for every student in the district, starting fall."),
            (
                "The Problem",
                "Since the fare increase, chronic absence at three high schools has risen by a "
                "fifth.",
            ),
            ("The Solution", "A district–transit agency agreement, funded from the state grant."),
            ("Our Strategy", "Student testimony at the school board, and a petition drive."),
        ],
        supporters=37,
        pledges=[1500, 2800, 2000, 1500],
        champions_listed=1,
        contact=("Jamal Price", "youth@eastsidetenants.example.org", ""),
    ),
]


@dataclass
class DemoResult:
    created: list[str]
    admin_password: str
    organizer_password: str


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def demo_passwords() -> tuple[str, str]:
    return (
        settings.DEMO_ADMIN_PASSWORD or DEFAULT_ADMIN_PASSWORD,
        settings.DEMO_ORGANIZER_PASSWORD or DEFAULT_ORGANIZER_PASSWORD,
    )


def demo_seed() -> DemoResult:
    """Create whatever part of the demo data is missing; never change what exists."""
    created: list[str] = []
    areas = {}
    for name in ISSUE_AREAS:
        slug = name.lower().replace(" ", "-")
        areas[name], made = IssueArea.objects.get_or_create(slug=slug, defaults={"name": name})
        if made:
            created.append(f"issue area {name}")
    orgs = {}
    for spec in ORGANIZATIONS:
        orgs[spec["slug"]] = _organization(spec, created)
    for spec in CAMPAIGNS:
        if not Campaign.objects.filter(slug=spec.slug).exists():
            _campaign(spec, orgs[spec.org], areas)
            created.append(f"campaign {spec.slug}")
    admin_password, organizer_password = demo_passwords()
    _accounts(orgs[ORGANIZATIONS[0]["slug"]], admin_password, organizer_password, created)
    return DemoResult(created, admin_password, organizer_password)


def _organization(spec: dict, created: list[str]) -> Organization:
    org = Organization.objects.filter(slug=spec["slug"]).first()
    if org:
        return org
    org = Organization.objects.create(
        slug=spec["slug"],
        name=spec["name"],
        website=spec["website"],
        address=spec["address"],
        phone=spec["phone"],
        about=spec["about"],
        about_es=spec.get("about_es"),
    )
    png = demo_images.logo_png(
        initials=spec["initials"], background=spec["colour"], name=spec["name"]
    )
    org.logo.save(f"{spec['slug']}.png", ContentFile(png), save=False)
    organization_logo_refresh(organization=org)
    created.append(f"organization {spec['slug']}")
    return org


# The model campaign is written in both languages (its page at /es/c/end-child-detention/);
# the others are English only, so their Spanish pages show the English texts and say so.
SPANISH = {
    "end-child-detention": {
        "title": "Que no se detenga más a niños migrantes en centros de detención",
        "summary": (
            "La investigación es clara: detener a niños en instalaciones del gobierno y separarlos "
            "de sus padres es inhumano y daña su desarrollo."
        ),
        "hero_caption": "La cerca de un centro de procesamiento en McAllen, Texas.",
        "hero_alt": "Ilustración de una alta cerca de alambre contra un cielo de atardecer.",
        "sections": [
            (
                "La meta de nuestra campaña",
                "Esta campaña busca mejorar las condiciones de las personas migrantes detenidas, "
                "reducir el daño que sufren ellas y sus hijos, y poner fin por completo a la "
                "detención de niños.",
            ),
            (
                "El problema de los centros de detención",
                "Hemos visto de primera mano el daño que la detención causa en la salud física y "
                "mental y en el bienestar de todas las personas migrantes, sobre todo de los niños "
                "y las mujeres embarazadas.\n\n"
                "Según las leyes de Estados Unidos y el derecho internacional, quienes huyen de la "
                "violencia pueden pedir protección y solicitar asilo. En cambio, miles de personas "
                "han sido enviadas a centros de detención migratoria a esperar una decisión sobre "
                "su destino, incluidos niños y mujeres embarazadas que nunca deberían estar "
                "detenidos.\n\n"
                "Reportajes y testimonios han documentado **falta de agua corriente, de jabón, de "
                "camas, y comida incomible**. A personas que los necesitan se les han quitado sus "
                "medicamentos, y ha habido brotes de enfermedades sin vacunas. Esto es "
                "inaceptable.\n\n"
                "> La evidencia nos dice que no existe un tiempo aceptable para que un niño esté "
                "detenido.\n\n"
                "Médicos de todas las especialidades, y organismos profesionales como la Academia "
                "Americana de Pediatría, la Academia Americana de Médicos de Familia y la "
                "Asociación Médica Americana, coinciden en este punto.",
            ),
            (
                "La solución",
                "Las personas que piden asilo, y sobre todo los niños, deberían esperar la "
                "decisión sobre su caso con sus familias, en la comunidad, con el apoyo de "
                "programas de acompañamiento que ya existen y cuestan una fracción de la "
                "detención.",
            ),
            (
                "Nuestra estrategia para ganar esta campaña",
                "Junto con una amplia coalición que apoya esta campaña, presentaremos una "
                "**petición administrativa** al Departamento de Seguridad Nacional (DHS).\n\n"
                "Una petición administrativa es un documento legal que solicita un cambio concreto "
                "en una norma. Agencias como el DHS deben responderla dentro de un plazo fijo. Tus "
                "promesas de donación pagan la redacción legal, la revisión de la evidencia médica "
                "y la campaña pública que garantiza que la petición no pueda ignorarse.",
            ),
        ],
    },
}


def _campaign_spanish(campaign: Campaign, spanish: dict) -> None:
    """Write the Spanish columns of a demo campaign and its sections."""
    Campaign.objects.filter(pk=campaign.pk).update(
        title_es=spanish["title"],
        summary_es=spanish["summary"],
        hero_caption_es=spanish["hero_caption"],
        hero_alt_es=spanish["hero_alt"],
    )
    sections = list(campaign.sections.order_by("position", "id"))
    for section, (heading, body) in zip(sections, spanish["sections"], strict=False):
        Section.objects.filter(pk=section.pk).update(heading_es=heading, body_es=body)


def _campaign(spec: DemoCampaign, org: Organization, areas: dict) -> Campaign:
    from pledges.models import Pledge
    from pledges.services.transitions import pledges_transition_bulk
    from supporters.models import Supporter

    now = timezone.now()
    # Deadlines fall at 7:59 PM in the campaign's time zone, as organizers usually set them.
    local_day = (now + dt.timedelta(days=spec.days_left)).astimezone(DEMO_TZ).date()
    deadline = dt.datetime.combine(local_day, dt.time(19, 59), tzinfo=DEMO_TZ)
    rng = random.Random(spec.slug)  # noqa: S311 — demo names, not security
    with transaction.atomic():
        campaign = Campaign.objects.create(
            organization=org,
            slug=spec.slug,
            title=spec.title,
            summary=spec.summary,
            campaign_type=spec.campaign_type,
            goal_cents=spec.goal_cents,
            # Created open so pledges can be made; past deadlines are set below.
            deadline=max(deadline, now + dt.timedelta(days=1)),
            timezone=DEMO_TZ.key,
            colour=spec.colour,
            hero_caption=spec.hero_caption,
            hero_credit=spec.hero_credit,
            hero_alt=spec.hero_alt,
            contact_name=spec.contact[0],
            contact_email=spec.contact[1],
            contact_phone=spec.contact[2],
        )
        campaign.issue_areas.set([areas[name] for name in spec.issue_areas])
        for i, (heading, body) in enumerate(spec.sections):
            Section.objects.create(campaign=campaign, heading=heading, body=body, position=i)
        campaign_add_defaults(campaign=campaign)
        if spec.slug in SPANISH:
            _campaign_spanish(campaign, SPANISH[spec.slug])
        for i, (name, title, listed) in enumerate(spec.coalition):
            CoalitionMember.objects.create(
                campaign=campaign, name=name, title=title, listed_as_supporter=listed, position=i
            )
        for i, (title, url, source, days_ago) in enumerate(spec.news):
            NewsLink.objects.create(
                campaign=campaign,
                title=title,
                url=url,
                source=source,
                published_on=(now - dt.timedelta(days=days_ago)).date(),
                position=i,
            )
        campaign_transition(campaign=campaign, to=C.IN_REVIEW, actor_label="seed_demo")
        campaign_transition(
            campaign=campaign,
            to=C.LIVE,
            actor_label="seed_demo",
            updates={"published_at": now - dt.timedelta(days=30 - len(spec.slug) % 7)},
        )

        # Supporters: the first ones pledged (Advocates/Champions), the rest are Allies.
        people = []
        for i in range(spec.supporters):
            amount = spec.pledges[i] if i < len(spec.pledges) else 0
            champion_min = 2800
            tier = (
                Tier.Kind.CHAMPION
                if amount >= champion_min
                else Tier.Kind.ADVOCATE
                if amount
                else Tier.Kind.ALLY
            )
            name = _name(rng)
            people.append(
                Supporter(
                    campaign=campaign,
                    email=f"demo{i}.{spec.slug}@example.org",
                    name=name,
                    postal_code="94609",
                    tier=tier,
                    confirmed_at=now - dt.timedelta(hours=i + 1),
                    public_listing=tier == Tier.Kind.CHAMPION and i < spec.champions_listed * 2,
                    consent_updates=True,
                    consent_updates_at=now,
                    consent_updates_text="Email me updates about this campaign.",
                    source="demo",
                )
            )
        Supporter.objects.bulk_create(people)
        campaign_recount_supporters(campaign=campaign)
        supporters = list(
            Supporter.objects.filter(campaign=campaign).order_by("-confirmed_at", "id")
        )
        pledges = Pledge.objects.bulk_create(
            Pledge(
                campaign=campaign,
                supporter=supporter,
                tier=supporter.tier,
                amount_cents=amount,
                card_brand="visa",
                card_last4="4242",
            )
            for supporter, amount in zip(supporters, spec.pledges, strict=False)
        )
        # Through the state machine, so totals and pledge history agree with the rows.
        pledges_transition_bulk(
            pledge_ids=[p.pk for p in pledges],
            expected=Pledge.Status.PENDING_SETUP,
            to=Pledge.Status.ACTIVE,
            actor_label="seed_demo",
        )

        if spec.status in (C.FAILED, C.SETTLING):
            campaign.refresh_from_db()
            Campaign.objects.filter(pk=campaign.pk).update(deadline=deadline)
            campaign.refresh_from_db()
            campaign_transition(
                campaign=campaign,
                to=C.SETTLING,
                actor_label="seed_demo",
                updates={
                    "frozen_pledged_cents": campaign.pledged_cents,
                    "frozen_backer_count": campaign.backer_count,
                    "frozen_at": deadline,
                },
            )
            if spec.status == C.FAILED:
                pledges_transition_bulk(
                    pledge_ids=[p.pk for p in pledges],
                    expected=Pledge.Status.ACTIVE,
                    to=Pledge.Status.RELEASED,
                    actor_label="seed_demo",
                )
                campaign_transition(
                    campaign=campaign,
                    to=C.FAILED,
                    actor_label="seed_demo",
                    note="Goal not reached by the deadline.",
                )
    # The demo starts past some milestones: record them as announced, so the first real
    # sign-on does not mail everyone about rungs passed before anyone was watching.
    from supporters.services import milestones_mark_passed

    milestones_mark_passed(campaign_id=campaign.pk)
    photo = demo_images.hero_jpeg(**spec.hero)
    campaign.hero_image.save(f"{spec.slug}.jpg", ContentFile(photo), save=False)
    campaign_hero_refresh(campaign=campaign)
    return campaign


def _accounts(org: Organization, admin_password: str, organizer_password: str, created) -> None:
    from supporters.models import User

    admin = User.objects.filter(email=ADMIN_EMAIL).first()
    if admin is None:
        User.objects.create_superuser(
            ADMIN_EMAIL, admin_password, first_name="Platform", last_name="Admin"
        )
        created.append(f"account {ADMIN_EMAIL}")
    organizer = User.objects.filter(email=ORGANIZER_EMAIL).first()
    if organizer is None:
        organizer = User.objects.create_user(
            ORGANIZER_EMAIL,
            organizer_password,
            first_name="Olivia",
            last_name="Organizer",
            is_staff=True,
        )
        created.append(f"account {ORGANIZER_EMAIL}")
    roles_ensure(Group, Permission)
    organizer.groups.add(Group.objects.get(name=ORGANIZERS))
    org.members.add(organizer)
    _verified_email(admin or User.objects.get(email=ADMIN_EMAIL))
    _verified_email(organizer)


def _verified_email(user) -> None:
    """Mark the demo accounts' addresses verified so allauth lets them log in at once."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
