"""Two organizations with people in every consent state, pledges, actions; keys to call with."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
from django.utils import timezone

from actions.models import Action, ActionCompletion
from api.models import ApiKey
from api.services import api_key_create
from tests.actions.factories import ActionFactory, CallTargetFactory
from tests.factories import CampaignFactory, OrganizationFactory, PledgeFactory, SupporterFactory


@dataclass
class Org:
    org: object
    campaign: object
    consented: list
    hidden: list  # people who must never be returned: no consent, unconfirmed, left
    pledge: object
    petition: object
    event: object
    call: object
    read_key: str
    write_key: str


def _org(name: str, n_consented: int) -> Org:
    org = OrganizationFactory(name=name)
    campaign = CampaignFactory(organization=org)
    now = timezone.now()
    consented = [
        SupporterFactory(
            campaign=campaign,
            name=f"{name} Person {i}",
            consent_org=True,
            consent_org_at=now,
            consent_org_text="You may contact me.",
        )
        for i in range(n_consented)
    ]
    hidden = [
        SupporterFactory(campaign=campaign, name=f"{name} NoConsent", consent_org=False),
        SupporterFactory(
            campaign=campaign, name=f"{name} Unconfirmed", consent_org=True, confirmed_at=None
        ),
        SupporterFactory(
            campaign=campaign, name=f"{name} Left", consent_org=True, left_at=timezone.now()
        ),
    ]
    pledge = PledgeFactory(
        campaign=campaign,
        supporter=hidden[0],
        tier="champion",
        amount_cents=3500,
        card_brand="visa",
        card_last4="4242",
    )
    petition = ActionFactory(campaign=campaign, kind=Action.Kind.PETITION, petition_text="Fix it")
    event = ActionFactory(campaign=campaign, kind=Action.Kind.EVENT, event_place="Town hall")
    call = ActionFactory(campaign=campaign, kind=Action.Kind.CALL)
    CallTargetFactory(action=call)
    ActionCompletion.objects.create(action=petition, supporter=consented[0], counted_at=now)
    ActionCompletion.objects.create(action=petition, supporter=hidden[0], counted_at=now)
    ActionCompletion.objects.create(action=event, supporter=consented[0], counted_at=now)
    _key, read = api_key_create(organization=org, name=f"{name} CRM", scope=ApiKey.Scope.READ)
    _key, write = api_key_create(
        organization=org, name=f"{name} site", scope=ApiKey.Scope.READ_WRITE
    )
    return Org(org, campaign, consented, hidden, pledge, petition, event, call, read, write)


@pytest.fixture
def orgs(db):
    return _org("Alpha", 5), _org("Beta", 2)


def call(url: str, *, key: str | None = None, method: str = "GET", body=None, headers=None):
    """A real HTTP request; returns (status, headers, parsed JSON or text)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if key:
        request.add_header("OSDI-API-Token", key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, head, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, head, raw = exc.code, dict(exc.headers), exc.read()
    text = raw.decode()
    try:
        return status, head, json.loads(text)
    except ValueError:
        return status, head, text
