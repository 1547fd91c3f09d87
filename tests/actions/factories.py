"""Factories for take-action tests."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from actions.models import Action, ActionLink, CallTarget
from tests.factories import CampaignFactory


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    campaign = factory.SubFactory(CampaignFactory)
    kind = Action.Kind.CALL
    title = factory.Sequence(lambda n: f"Call your senators, round {n}")
    why_it_matters = "Children are being separated from their parents. **Call today.**"
    published = True
    call_script = (
        "My name is {name} and my zip code is {zip}. I demand that children not be "
        "separated from their parents."
    )


class CallTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallTarget

    action = factory.SubFactory(ActionFactory)
    name = factory.Sequence(lambda n: f"Senator Number {n}")
    office = "U.S. Senator (CA)"
    phone = "(202) 224-3553"


class ActionLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionLink

    action = factory.SubFactory(ActionFactory, kind=Action.Kind.GIVE, call_script="")
    title = factory.Sequence(lambda n: f"Partner {n}")
    url = "https://example.org/donate"


def email_action(**kwargs):
    defaults = {
        "kind": Action.Kind.EMAIL,
        "title": "Email the CEO of General Dynamics",
        "call_script": "",
        "email_to": "ceo@example.com",
        "email_to_name": "Phebe Novakovic",
        "email_subject": "Reunite the children & their families",
        "email_body": "I am writing to you because...\n\nSincerely,\n{name} ({zip})",
    }
    return ActionFactory(**{**defaults, **kwargs})


def event_action(**kwargs):
    start = timezone.now() + dt.timedelta(days=3)
    defaults = {
        "kind": Action.Kind.EVENT,
        "title": "Families Belong Together rally",
        "call_script": "",
        "event_starts_at": start,
        "event_ends_at": start + dt.timedelta(hours=2),
        "event_timezone": "America/Los_Angeles",
        "event_place": "Oakland City Hall",
        "event_address": "1 Frank H. Ogawa Plaza\nOakland, CA 94612",
        "event_capacity": 2,
    }
    return ActionFactory(**{**defaults, **kwargs})


def petition_action(**kwargs):
    defaults = {
        "kind": Action.Kind.PETITION,
        "title": "Fund the Family Case Management Program",
        "call_script": "",
        "petition_text": "We demand better programs to protect these children.",
    }
    return ActionFactory(**{**defaults, **kwargs})
