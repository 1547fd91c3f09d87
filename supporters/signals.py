"""Hooks from the account system into supporters: thin receivers that call one service."""

from __future__ import annotations

from allauth.account.signals import email_confirmed, password_reset, user_signed_up
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in, dispatch_uid="supporters_link_on_login")
def link_on_login(sender, request, user, **kwargs):
    """Rows signed on with this person's verified address before they had an account."""
    from supporters.services import supporters_link_user

    supporters_link_user(user=user)


@receiver(email_confirmed, dispatch_uid="supporters_link_on_email_confirmed")
def link_on_email_confirmed(sender, request, email_address, **kwargs):
    """A confirmation link opened, or a login code entered (allauth verifies the address then
    too): the first proof of the mailbox voids credentials set before it by anyone else."""
    from allauth.account.models import EmailAddress

    from supporters.services import account_mailbox_proven

    user = email_address.user
    first_proof = (
        not EmailAddress.objects.filter(user=user, verified=True)
        .exclude(pk=email_address.pk)
        .exists()
    )
    voided = account_mailbox_proven(
        user=user, first_proof=first_proof, by_creator=_is_creator_session(request, user)
    )
    if voided and request is not None:
        from django.contrib import messages
        from django.utils.translation import gettext as _

        messages.info(
            request,
            _(
                "For your safety, a password chosen before this confirmation no longer works. "
                "Sign in with a code sent to your email, or choose a new password."
            ),
        )


@receiver(password_reset, dispatch_uid="supporters_proof_on_password_reset")
def proof_on_password_reset(sender, request, user, **kwargs):
    """A reset link from the mailbox is a proof of it. The new password already replaced the
    old one and changed the session hash (every earlier session is signed out); the address
    counts as verified from now on."""
    from allauth.account.models import EmailAddress

    from supporters.services import account_mailbox_proven

    first_proof = not EmailAddress.objects.filter(user=user, verified=True).exists()
    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    if address is not None and not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    account_mailbox_proven(user=user, first_proof=first_proof, by_creator=True)


@receiver(user_signed_up, dispatch_uid="supporters_mark_creator_session")
def mark_creator_session(sender, request, user, **kwargs):
    from supporters.services import ACCOUNT_CREATED_SESSION_KEY

    if request is not None and hasattr(request, "session"):
        request.session[ACCOUNT_CREATED_SESSION_KEY] = user.pk


def _is_creator_session(request, user) -> bool:
    """Whether this request comes from the browser that created the account (or one already
    signed in to it, which only its creator or a proven owner can be)."""
    from supporters.services import ACCOUNT_CREATED_SESSION_KEY

    if request is None:
        return False
    session = getattr(request, "session", None)
    if session is not None and session.get(ACCOUNT_CREATED_SESSION_KEY) == user.pk:
        return True
    current = getattr(request, "user", None)
    return bool(current is not None and current.is_authenticated and current.pk == user.pk)
