"""Applications to run campaigns, their review by platform staff, and organizer invitations.

Nothing is created for an applicant until staff approve. Approval creates the organization and an
invitation whose one-time link goes to the address the applicant gave; the organizer account is
created (or an existing account joins) only when that link is used, so an account is never handed
to an address nobody has proven.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from campaigns.models import Organization
from campaigns.roles import ORGANIZERS
from campaigns.selectors import platform_staff_emails
from campaigns.services import platform_staff_required
from organizers.models import OrganizationApplication, OrganizerInvitation
from supporters.emails import email_enqueue
from supporters.models import normalize_email

A = OrganizationApplication.Status
INVITATION_DAYS = 14


class ApplicationNotPending(Exception):
    """The application was already approved or declined (perhaps by someone else just now)."""


class InvitationInvalid(Exception):
    """The invitation link is unknown, used or expired; the message says which."""


def application_submit(
    *, organization_name: str, contact_name: str, contact_email: str, website: str, about: str
) -> OrganizationApplication:
    """Record an application and tell platform staff. Creates no organization and no account."""
    with transaction.atomic():
        application = OrganizationApplication.objects.create(
            organization_name=organization_name.strip(),
            contact_name=contact_name.strip(),
            contact_email=normalize_email(contact_email),
            website=website,
            about=about.strip(),
        )
        email_enqueue(
            to=platform_staff_emails(),
            template="organizer_application_staff",
            context={
                "organization_name": application.organization_name,
                "contact_name": application.contact_name,
                "about": application.about,
                "admin_url": settings.SITE_URL
                + reverse("admin:organizers_organizationapplication_change", args=[application.pk]),
            },
        )
    return application


def _unique_slug(name: str) -> str:
    base = (slugify(name) or "organization")[:70]
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _claim(application: OrganizationApplication, *, to: str, actor, extra: dict) -> None:
    won = OrganizationApplication.objects.filter(pk=application.pk, status=A.PENDING).update(
        status=to, reviewed_by=actor, reviewed_at=timezone.now(), updated_at=timezone.now(), **extra
    )
    if not won:
        raise ApplicationNotPending(
            f"“{application.organization_name}” was already reviewed; nothing was changed."
        )


def invitation_create(*, organization: Organization, email: str, name: str = "") -> str:
    """Make a one-time invitation and email its link; returns the raw token (only the hash is
    stored)."""
    token = secrets.token_urlsafe(32)
    OrganizerInvitation.objects.create(
        organization=organization,
        email=normalize_email(email),
        name=name,
        token_hash=OrganizerInvitation.hash_token(token),
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
    )
    email_enqueue(
        to=normalize_email(email),
        template="organizer_invitation",
        context={
            "name": name,
            "organization_name": organization.name,
            "days": INVITATION_DAYS,
            "invitation_url": settings.SITE_URL
            + reverse("organizers:invitation", kwargs={"token": token}),
        },
    )
    return token


def application_approve(*, application: OrganizationApplication, actor) -> Organization:
    """Platform staff approve: the organization is created and its contact invited by email."""
    platform_staff_required(actor=actor, doing="approve organizations")
    with transaction.atomic():
        organization = Organization.objects.create(
            name=application.organization_name,
            slug=_unique_slug(application.organization_name),
            website=application.website,
        )
        _claim(application, to=A.APPROVED, actor=actor, extra={"organization": organization})
        invitation_create(
            organization=organization,
            email=application.contact_email,
            name=application.contact_name,
        )
    application.refresh_from_db()
    return organization


def application_decline(*, application: OrganizationApplication, actor, reason: str) -> None:
    """Platform staff decline with a reason, which the applicant is emailed."""
    platform_staff_required(actor=actor, doing="decline applications")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Say why the application is declined.")
    with transaction.atomic():
        _claim(application, to=A.DECLINED, actor=actor, extra={"decline_reason": reason})
        email_enqueue(
            to=application.contact_email,
            template="organizer_application_declined",
            context={
                "name": application.contact_name,
                "organization_name": application.organization_name,
                "reason": reason,
            },
        )
    application.refresh_from_db()


def invitation_for_token(token: str) -> OrganizerInvitation:
    """The open invitation behind a link, or InvitationInvalid with a sentence."""
    invitation = (
        OrganizerInvitation.objects.select_related("organization")
        .filter(token_hash=OrganizerInvitation.hash_token(token or ""))
        .first()
    )
    if invitation is None:
        raise InvitationInvalid("This invitation link is not valid. Ask for a new one.")
    if invitation.accepted_at is not None:
        raise InvitationInvalid("This invitation was already used. Log in to continue.")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("This invitation has expired. Ask platform staff for a new one.")
    return invitation


def _make_organizer(user, organization: Organization) -> None:
    from allauth.account.models import EmailAddress

    get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
    user.groups.add(Group.objects.get(name=ORGANIZERS))
    organization.members.add(user)
    # The link was opened from this mailbox: the address is proven.
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )


def invitation_accept(*, token: str, password: str | None, user=None):
    """Use an invitation. With `user` (someone logged in as the invited address) they join the
    organization; otherwise an account for the invited address is created with `password`.

    The invitation is claimed with a conditional UPDATE, so a link used twice at once makes one
    account. Returns the user."""
    invitation = invitation_for_token(token)
    User = get_user_model()  # noqa: N806
    with transaction.atomic():
        won = OrganizerInvitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            accepted_at=timezone.now()
        )
        if not won:
            raise InvitationInvalid("This invitation was already used. Log in to continue.")
        if user is None:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise InvitationInvalid(
                    "An account with this address exists: log in with it, then open the link again."
                )
            user = User.objects.create_user(
                invitation.email, password, display_name=invitation.name
            )
        elif normalize_email(user.email) != invitation.email:
            raise InvitationInvalid(
                "This invitation is for another address. Log out, then open the link again."
            )
        _make_organizer(user, invitation.organization)
        OrganizerInvitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    return user


def invitation_has_account(invitation: OrganizerInvitation) -> bool:
    """Whether the invited address already has an account (then its owner logs in to join)."""
    return get_user_model().objects.filter(email__iexact=invitation.email).exists()
