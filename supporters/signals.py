"""Hooks from the account system into supporters: thin receivers that call one service."""

from __future__ import annotations

from allauth.account.signals import email_confirmed
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in, dispatch_uid="supporters_link_on_login")
def link_on_login(sender, request, user, **kwargs):
    """Rows signed on with this person's verified address before they had an account."""
    from supporters.services import supporters_link_user

    supporters_link_user(user=user)


@receiver(email_confirmed, dispatch_uid="supporters_link_on_email_confirmed")
def link_on_email_confirmed(sender, request, email_address, **kwargs):
    from supporters.services import supporters_link_user

    supporters_link_user(user=email_address.user)
