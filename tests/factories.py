"""factory-boy factories for the shared models."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from campaigns.models import Campaign, IssueArea, Organization
from pledges.models import Pledge
from supporters.models import Supporter, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    password = factory.django.Password("correct horse battery staple")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Coalition for Change {n}")
    slug = factory.Sequence(lambda n: f"coalition-{n}")
    website = "https://example.org"
    address = "490 43rd Street\nSuite 350\nOakland, CA 94609"
    phone = "(510) 306-7494"
    about = "We back campaigns that change unjust policies."


class IssueAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IssueArea
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Issue {n}")
    slug = factory.Sequence(lambda n: f"issue-{n}")


class CampaignFactory(factory.django.DjangoModelFactory):
    """A LIVE campaign with the default tiers and sections, ending in 30 days."""

    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Fix the bus lines, part {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    summary = "Buses that come on time, for everyone."
    goal_cents = 100_000
    deadline = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))
    timezone = "America/Los_Angeles"
    status = Campaign.Status.LIVE
    contact_name = "Ana Organizer"
    contact_email = "ana@example.org"

    @factory.post_generation
    def defaults(obj, create, extracted, **kwargs):
        if create:
            from campaigns.services import campaign_add_defaults

            campaign_add_defaults(campaign=obj)


class SupporterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supporter

    campaign = factory.SubFactory(CampaignFactory)
    email = factory.Sequence(lambda n: f"supporter{n}@example.org")
    name = factory.Faker("name")
    postal_code = "94609"
    confirmed_at = factory.LazyFunction(timezone.now)


class PledgeFactory(factory.django.DjangoModelFactory):
    """A pledge row as it is after the card was saved. Use services to move it; this factory
    writes totals by hand only when asked (count_in_totals=True)."""

    class Meta:
        model = Pledge

    campaign = factory.SubFactory(CampaignFactory)
    supporter = factory.LazyAttribute(lambda o: SupporterFactory(campaign=o.campaign, tier=o.tier))
    tier = "advocate"
    amount_cents = 2000
    status = Pledge.Status.ACTIVE
    stripe_customer_id = factory.Sequence(lambda n: f"cus_test{n}")
    stripe_payment_method_id = factory.Sequence(lambda n: f"pm_test{n}")


def organizer_of(organization, **kwargs):
    """An organizer as the admin knows one: active staff, in the "Organizers" group, a member
    of `organization`."""
    from django.contrib.auth.models import Group

    from campaigns.roles import ORGANIZERS

    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=ORGANIZERS))
    organization.members.add(user)
    return user


def verified_user(**kwargs):
    """An account that has proven its address (allauth's verified EmailAddress), as every
    account that pledges or reads supporter records must have."""
    from allauth.account.models import EmailAddress

    user = UserFactory(**kwargs)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def campaign_ready_for_review(campaign):
    """Give a draft what the review checklist asks for: text in every section, a hero photo
    with its description and credit (the factory's contact and tiers already pass)."""
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    for section in campaign.sections.all():
        section.body = f"What we mean by {section.heading.lower()}."
        section.save(update_fields=["body"])
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 600), (31, 95, 139)).save(buffer, "JPEG")
    campaign.hero_image.save("hero.jpg", ContentFile(buffer.getvalue()), save=False)
    campaign.hero_alt = "A crowd at city hall"
    campaign.hero_credit = "Photo: the organizers"
    campaign.save(update_fields=["hero_image", "hero_alt", "hero_credit"])
    return campaign
