"""The OSDI person signup helper, through the Ally sign-on service.

Identity is proven, never typed: another site tells us a name and an address, so the person is
only ever *invited* (the sign-on service emails them the confirmation link); they count, and
appear under people, once they press it. A signup for an address that is already on the
campaign never changes that record: a confirmed supporter is left alone by the service itself
(it emails them a note), and a row waiting for confirmation or one that left is not touched at
all, so a caller cannot rewrite anyone's name or consents.
"""

from __future__ import annotations

from campaigns.models import Campaign
from supporters.models import Supporter, normalize_email
from supporters.services import CampaignClosedForSignOn, supporter_sign_on
from supporters.throttle import sign_on_email_allowed


class SignupClosed(Exception):
    pass


def person_signup(
    *,
    campaign: Campaign,
    email: str,
    name: str,
    postal_code: str,
    consent_org: bool,
    consent_updates: bool,
    wording: str,
    source: str,
) -> str:
    """Invite the person to sign on as an Ally. Returns the sign-on outcome ("confirm_sent",
    "already"), "unchanged" for an existing unconfirmed/left row, or "throttled" when the
    address had its hourly share of emails."""
    email = normalize_email(email)
    existing = Supporter.objects.filter(campaign=campaign, email=email).first()
    if existing is not None and not existing.is_confirmed:
        return "unchanged"
    # The same hourly budget of emails per address as the campaign page's form: a key cannot
    # be used to flood someone's inbox.
    if not sign_on_email_allowed(scope=f"campaign-{campaign.pk}", email=email):
        return "throttled"
    try:
        _supporter, outcome = supporter_sign_on(
            campaign=campaign,
            email=email,
            name=name,
            postal_code=postal_code,
            consent_updates=consent_updates,
            consent_updates_text=wording if consent_updates else "",
            consent_org=consent_org,
            consent_org_text=wording if consent_org else "",
            tracking={"source": source},
        )
    except CampaignClosedForSignOn as exc:
        raise SignupClosed(campaign.pk) from exc
    return outcome
