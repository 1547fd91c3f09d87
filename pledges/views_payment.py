"""The supporter's payment pages after a campaign succeeded (linked from settlement emails).

`/pledges/<token>/confirm/` finishes 3-D Secure on the existing PaymentIntent with Stripe.js;
`/pledges/<token>/new-card/` saves another card and charges it on-session. The token in the
link is the pledge's secret; the pages show nothing beyond the pledge itself. Thin views: the
work is in pledges/services/onsession.py.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from pledges.gateway import GatewayError
from pledges.models import Pledge
from pledges.services.onsession import (
    PaymentPageError,
    pledge_confirm_complete,
    pledge_confirm_prepare,
    pledge_new_card_prepare,
    pledge_pay_with_new_card,
    pledge_payable_on_session,
)
from supporters.throttle import client_ip, throttle_hit

log = logging.getLogger(__name__)
S = Pledge.Status
STRIPE_DOWN = gettext_lazy(
    "We could not reach our payment processor just now. Please try again in a minute."
)
CARD_TRIES_LIMITED = gettext_lazy(
    "You have tried several cards in a short time. Please wait an hour and try again; "
    "nothing more has been charged."
)


def _card_tries_allowed(request: HttpRequest, pledge: Pledge) -> bool:
    """Card testing: every new-card form handed out and every card posted counts against the
    client address and against the pledge, so neither one link nor one network can try card
    after card. The address is counted first, so a stranger spends no pledge's budget once
    their own is gone."""
    limits = settings.NEW_CARD_RATE_LIMITS
    window = limits["window_seconds"]
    return throttle_hit(
        key=f"new-card-ip:{client_ip(request)}", limit=limits["ip"], window_seconds=window
    ) and throttle_hit(
        key=f"new-card-pledge:{pledge.pk}", limit=limits["pledge"], window_seconds=window
    )


def _pledge(token: str) -> Pledge:
    return get_object_or_404(Pledge.objects.select_related("campaign", "supporter"), token=token)


def _context(pledge: Pledge, **extra) -> dict:
    return {
        "pledge": pledge,
        "campaign": pledge.campaign,
        "payable": pledge_payable_on_session(pledge),
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
        **extra,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def payment_confirm(request: HttpRequest, token: str) -> HttpResponse:
    pledge = _pledge(token)
    if request.method == "POST":
        try:
            status = pledge_confirm_complete(
                pledge=pledge, payment_intent_id=request.POST.get("payment_intent", "")
            )
        except PaymentPageError as exc:
            messages.error(request, str(exc))
        except GatewayError:
            log.exception("confirm return for pledge %s", pledge.pk)
            messages.error(request, STRIPE_DOWN)
        else:
            if status == S.NEEDS_NEW_METHOD:
                messages.error(
                    request,
                    gettext_lazy(
                        "Your bank did not confirm the payment. "
                        "You can try again with another card."
                    ),
                )
                return redirect("pledges:payment_new_card", token=token)
        return redirect("pledges:payment_confirm", token=token)
    client_secret, error = "", ""
    try:
        client_secret = pledge_confirm_prepare(pledge=pledge).client_secret
    except GatewayError:
        log.exception("confirm page for pledge %s", pledge.pk)
        error = str(STRIPE_DOWN)
    pledge.refresh_from_db()
    return render(
        request,
        "pledges/payment/confirm.html",
        _context(pledge, client_secret=client_secret, error=error),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def payment_new_card(request: HttpRequest, token: str) -> HttpResponse:
    pledge = _pledge(token)
    if (request.method == "POST" or pledge_payable_on_session(pledge)) and not (
        _card_tries_allowed(request, pledge)
    ):
        return render(
            request,
            "pledges/payment/new_card.html",
            _context(pledge, client_secret="", error=CARD_TRIES_LIMITED),
            status=429,
        )
    if request.method == "POST":
        try:
            status = pledge_pay_with_new_card(
                pledge=pledge, setup_intent_id=request.POST.get("setup_intent", "")
            )
        except PaymentPageError as exc:
            messages.error(request, str(exc))
            return redirect("pledges:payment_new_card", token=token)
        except GatewayError:
            log.exception("new card for pledge %s", pledge.pk)
            messages.error(request, STRIPE_DOWN)
            return redirect("pledges:payment_new_card", token=token)
        if status == S.ACTION_REQUIRED:
            return redirect("pledges:payment_confirm", token=token)
        if status == S.NEEDS_NEW_METHOD:
            messages.error(
                request, gettext_lazy("That card was declined. Please try another card.")
            )
        return redirect("pledges:payment_new_card", token=token)
    client_secret, error = "", ""
    if pledge_payable_on_session(pledge):
        try:
            client_secret = pledge_new_card_prepare(pledge=pledge).client_secret
        except (PaymentPageError, GatewayError) as exc:
            log.warning("new card page for pledge %s: %s", pledge.pk, exc)
            error = str(exc) if isinstance(exc, PaymentPageError) else str(STRIPE_DOWN)
    return render(
        request,
        "pledges/payment/new_card.html",
        _context(pledge, client_secret=client_secret, error=error),
    )
