"""Pledge pages: the pledge form, the card step, the supporter's own pledge page.

Thin: parse input, call one service from `pledges.services.pledging`, render or redirect.
"""

from __future__ import annotations

import re

from allauth.account.app_settings import EmailVerificationMethod
from allauth.account.utils import complete_signup, perform_login
from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.models import Campaign, Tier
from campaigns.selectors import campaign_is_open
from campaigns.templatetags.rallyround import money
from pledges import gateway
from pledges.forms import (
    OTHER,
    PledgeForm,
    consent_org_text,
    consent_updates_text,
    dollars_input,
    new_form_key,
    parse_amount_cents,
)
from pledges.models import LIVE_STATUSES, Pledge
from pledges.services.pledging import (
    UNPROVEN_EMAIL,
    ActivationOutcome,
    PledgeError,
    PledgeFrozen,
    StartOutcome,
    pledge_account_create,
    pledge_activate_from_setup_intent,
    pledge_cancel,
    pledge_setup_intent_ensure,
    pledge_start,
)
from supporters.middleware import tracking_for
from supporters.models import Supporter, User
from supporters.selectors import supporters_for_user, user_email_is_verified
from supporters.throttle import throttle_hit

PLEDGE_TIERS = (Tier.Kind.ADVOCATE, Tier.Kind.CHAMPION)
PUBLIC_STATUSES = (
    Campaign.Status.LIVE,
    Campaign.Status.SETTLING,
    Campaign.Status.SUCCEEDED,
    Campaign.Status.FAILED,
    Campaign.Status.CLOSED,
)
GATEWAY_DOWN = (
    "We could not reach our card processor, so nothing was saved or charged. "
    "Please try again in a moment."
)
SETUP_INTENT_ID = re.compile(r"^seti_[A-Za-z0-9]{1,60}$")
# A signed-in supporter's pledge submissions and card steps each cost calls to Stripe (and a
# change sends an email): cap them per account, so nobody can spend the platform's Stripe
# rate limit or flood an inbox. Generous for a person; settings may override.
TOO_MANY_STEPS = gettext_noop(
    "You have tried this many times in the last few minutes. Please wait a little and try again."
)


def _pledge_step_allowed(user) -> bool:
    return throttle_hit(
        key=f"pledge-steps:{user.pk}",
        limit=getattr(settings, "PLEDGE_STEPS_PER_USER", 30),
        window_seconds=getattr(settings, "PLEDGE_STEPS_WINDOW_SECONDS", 600),
    )


# The pledge a visitor typed before proving their address waits here (in their own session)
# until the emailed link brings them back signed in; nothing is stored against the address.
DRAFT_SESSION_KEY = "rr_pledge_draft"


def _current_supporter(user, campaign: Campaign) -> Supporter | None:
    """The person's own row on this campaign: one whose address their account has proven."""
    if not user.is_authenticated:
        return None
    return supporters_for_user(user=user).filter(campaign=campaign).order_by("pk").first()


def _stash_draft(request: HttpRequest, *, campaign: Campaign, tier: Tier, data: dict) -> None:
    request.session[DRAFT_SESSION_KEY] = {
        "campaign": campaign.pk,
        "tier": tier.kind,
        "amount": dollars_input(data["amount_cents"]),
        "name": data["name"],
        "postal_code": data["postal_code"],
        "consent_updates": bool(data["consent_updates"]),
        "consent_org": bool(data["consent_org"]),
        "public_listing": bool(data.get("public_listing")),
        "display_name": data.get("display_name", ""),
    }


def _draft_for(request: HttpRequest, campaign: Campaign, tier: Tier) -> dict | None:
    draft = request.session.get(DRAFT_SESSION_KEY)
    if draft and draft.get("campaign") == campaign.pk and draft.get("tier") == tier.kind:
        return draft
    return None


def _inline_sign_up(request: HttpRequest, *, email: str, password: str, name: str, next_url: str):
    """The pledge page's sign-up, answered the same way whether or not the address already has
    an account: allauth's "check your email" page. A new address gets its account (unverified)
    and the verification link; an existing one gets allauth's "you already have an account"
    email. Nobody is signed in before the mailbox is proven, so typing someone's address gives
    access to nothing of theirs."""
    mandatory = EmailVerificationMethod.MANDATORY
    if User.objects.filter(email__iexact=email).exists():
        make_password(password)  # the same work as creating an account: no timing tell
        return perform_login(request, None, email_verification=mandatory, signup=True, email=email)
    try:
        user = pledge_account_create(email=email, password=password, name=name)
    except IntegrityError:  # the same address signed up a moment ago (a double click)
        return perform_login(request, None, email_verification=mandatory, signup=True, email=email)
    return complete_signup(request, user, mandatory, next_url)


def _live_pledge(supporter: Supporter | None) -> Pledge | None:
    if supporter is None:
        return None
    return (
        Pledge.objects.filter(supporter=supporter, status__in=LIVE_STATUSES)
        .select_related("campaign")
        .first()
    )


def _initial(user, campaign: Campaign, tier: Tier, supporter, pledge) -> dict:
    initial: dict = {"form_key": new_form_key()}
    floor = max(tier.min_cents, 100)
    # Switching tiers starts from the current pledge, raised to this tier's minimum if needed.
    amount = max(pledge.amount_cents, floor) if pledge else floor
    initial["amount_choice"] = OTHER
    initial["amount"] = dollars_input(amount)
    if supporter is not None:
        initial.update(
            name=supporter.name,
            postal_code=supporter.postal_code,
            consent_updates=supporter.consent_updates,
            consent_org=supporter.consent_org,
            public_listing=supporter.public_listing,
            display_name=supporter.display_name,
        )
    elif user.is_authenticated:
        initial["name"] = user.get_full_name() or user.display_name
    return initial


def _chosen_cents(form: PledgeForm) -> int | None:
    """The amount the page currently shows (for the live "You will be charged" sentence)."""
    if form.is_bound and form.is_valid():
        return form.cleaned_data["amount_cents"]
    choice = form["amount_choice"].value() or OTHER
    text = form["amount"].value() if choice == OTHER else choice
    try:
        return parse_amount_cents(text or "")
    except ValidationError:
        return None


def _render_pledge_page(request, *, campaign, tier, form, pledge, status=200) -> HttpResponse:
    suggestions = form.suggestions
    cents = _chosen_cents(form)
    choice = form["amount_choice"].value() or OTHER
    if choice == OTHER and cents is not None and cents in suggestions:
        choice = dollars_input(cents)
    return render(
        request,
        "pledges/pledge_form.html",
        {
            "campaign": campaign,
            "tier": tier,
            "form": form,
            "pledge": pledge,
            "suggestions": [(dollars_input(c), c) for c in suggestions],
            "choice": choice,
            "other_value": (form["amount"].value() or "") if choice == OTHER else "",
            "charge_cents": cents if cents is not None else max(tier.min_cents, 100),
            "deadline": campaign.deadline_display,
            "max_cents": settings.PLEDGE_MAX_CENTS,
            "open": True,
            # Raising an Advocate pledge to the Champion minimum offers Champion (issue 16).
            "charge_dollars": dollars_input(cents if cents is not None else tier.min_cents),
            "champion": campaign.tiers.filter(kind=Tier.Kind.CHAMPION).first()
            if tier.kind == Tier.Kind.ADVOCATE
            else None,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def pledge_page(request: HttpRequest, slug: str, tier: str) -> HttpResponse:
    """`/c/<slug>/support/advocate|champion/`: make or change a pledge."""
    if tier not in PLEDGE_TIERS:
        raise Http404("No such tier")
    campaign: Campaign = get_object_or_404(
        Campaign.objects.select_related("organization"), slug=slug, status__in=PUBLIC_STATUSES
    )
    tier_obj = get_object_or_404(Tier, campaign=campaign, kind=tier)
    supporter = _current_supporter(request.user, campaign)
    pledge = _live_pledge(supporter)
    if not campaign_is_open(campaign):
        return _render_closed(request, campaign=campaign, tier=tier_obj, pledge=pledge)
    if request.method == "GET":
        return _pledge_page_get(request, campaign, tier_obj, supporter, pledge)
    return _pledge_page_post(request, campaign, tier_obj, pledge)


def _pledge_page_get(
    request, campaign: Campaign, tier_obj: Tier, supporter, pledge
) -> HttpResponse:
    """The form, with the draft saved before the sign-up and the amount the page was offered."""
    initial = _initial(request.user, campaign, tier_obj, supporter, pledge)
    # "?amount=30" from the Advocate page's offer to become a Champion at that amount.
    try:
        asked = parse_amount_cents(request.GET.get("amount", "")[:20])
    except ValidationError:
        asked = None  # no amount, or nonsense: the page starts as usual
    if asked is not None and tier_obj.min_cents <= asked <= settings.PLEDGE_MAX_CENTS:
        initial["amount_choice"] = OTHER
        initial["amount"] = dollars_input(asked)
    draft = _draft_for(request, campaign, tier_obj)
    if request.user.is_authenticated:
        if not user_email_is_verified(user=request.user):
            messages.warning(request, str(UNPROVEN_EMAIL))
        elif draft:
            initial.update({k: v for k, v in draft.items() if k not in ("campaign", "tier")})
            messages.info(
                request,
                _(
                    "Your email address is confirmed. Check your pledge below and continue "
                    "to save your card."
                ),
            )
    form = PledgeForm(campaign=campaign, tier=tier_obj, user=request.user, initial=initial)
    return _render_pledge_page(request, campaign=campaign, tier=tier_obj, form=form, pledge=pledge)


def _pledge_page_post(request, campaign: Campaign, tier_obj: Tier, pledge) -> HttpResponse:
    """The submitted form: rate limits, validation, the inline sign-up, then the service."""
    form = PledgeForm(request.POST, campaign=campaign, tier=tier_obj, user=request.user)
    # Before any validation: the sign-up must not become a way to test addresses at speed.
    if not request.user.is_authenticated and not ratelimit.consume(request, action="signup"):
        form.add_error(None, _("Too many sign-ups from your network. Please wait a minute."))
        return _render_pledge_page(
            request, campaign=campaign, tier=tier_obj, form=form, pledge=None, status=429
        )
    if request.user.is_authenticated and not _pledge_step_allowed(request.user):
        form.add_error(None, TOO_MANY_STEPS)
        return _render_pledge_page(
            request, campaign=campaign, tier=tier_obj, form=form, pledge=pledge, status=429
        )
    if not form.is_valid():
        return _render_pledge_page(
            request, campaign=campaign, tier=tier_obj, form=form, pledge=pledge
        )
    data = form.cleaned_data
    user = request.user
    if not user.is_authenticated:
        _stash_draft(request, campaign=campaign, tier=tier_obj, data=data)
        return _inline_sign_up(
            request,
            email=data["email"],
            password=data["password"],
            name=data["name"],
            next_url=request.path,
        )
    return _pledge_start_answer(request, campaign, tier_obj, pledge, form)


def _pledge_start_answer(
    request, campaign: Campaign, tier_obj: Tier, pledge, form: PledgeForm
) -> HttpResponse:
    """Run `pledge_start` for a valid form of a signed-in person and answer with the next page
    (the card step, the pledge) or the form with the service's sentence."""
    data = form.cleaned_data
    user = request.user
    try:
        result = pledge_start(
            user=user,
            campaign=campaign,
            tier=tier_obj,
            amount_cents=data["amount_cents"],
            form_key=data["form_key"],
            name=data["name"],
            postal_code=data["postal_code"],
            consent_updates=data["consent_updates"],
            consent_updates_text=consent_updates_text(campaign),
            consent_org=data["consent_org"],
            consent_org_text=consent_org_text(campaign),
            public_listing=data.get("public_listing", False),
            display_name=data.get("display_name", ""),
            tracking=tracking_for(request, campaign.slug),
        )
    except PledgeFrozen:
        campaign.refresh_from_db()
        return _render_closed(request, campaign=campaign, tier=tier_obj, pledge=pledge)
    except PledgeError as exc:
        form.add_error(None, str(exc))
    except gateway.GatewayError:
        form.add_error(None, GATEWAY_DOWN)
    else:
        request.session.pop(DRAFT_SESSION_KEY, None)
        if result.outcome == StartOutcome.NEEDS_CARD:
            return redirect("pledges:card", token=result.pledge.token)
        if result.outcome == StartOutcome.CHANGED:
            messages.success(
                request,
                _("Your pledge is now %(amount)s as %(tier)s. We emailed you a confirmation.")
                % {
                    "amount": money(result.pledge.amount_cents, result.pledge.currency),
                    "tier": Tier.Kind(result.pledge.tier).label,
                },
            )
        return redirect("pledges:detail", token=result.pledge.token)
    return _render_pledge_page(
        request, campaign=campaign, tier=tier_obj, form=form, pledge=pledge, status=200
    )


def _render_closed(request, *, campaign, tier, pledge) -> HttpResponse:
    return render(
        request,
        "pledges/pledge_form.html",
        {
            "campaign": campaign,
            "tier": tier,
            "pledge": pledge,
            "deadline": campaign.deadline_display,
            "open": False,
            "deadline_passed": timezone.now() >= campaign.deadline,
        },
    )


def _own_pledge(request: HttpRequest, token: str) -> Pledge:
    pledge = get_object_or_404(
        Pledge.objects.select_related("campaign", "campaign__organization", "supporter"),
        token=token,
    )
    # Mine only if my account has proven the address the pledge was made with.
    if not supporters_for_user(user=request.user).filter(pk=pledge.supporter_id).exists():
        raise Http404("No such pledge")
    return pledge


@login_required
@require_http_methods(["GET"])
def card_step(request: HttpRequest, token: str) -> HttpResponse:
    """The card step: Stripe.js confirms a SetupIntent in the page (3-D Secure happens here)."""
    pledge = _own_pledge(request, token)
    error = ""
    step = None
    if not _pledge_step_allowed(request.user):
        return render(
            request,
            "pledges/card.html",
            {
                "pledge": pledge,
                "campaign": pledge.campaign,
                "tier_label": Tier.Kind(pledge.tier).label,
                "deadline": pledge.campaign.deadline_display,
                "error": TOO_MANY_STEPS,
            },
            status=429,
        )
    try:
        step = pledge_setup_intent_ensure(pledge=pledge)
    except PledgeError as exc:
        messages.error(request, str(exc))
        return redirect("pledges:detail", token=pledge.token)
    except gateway.GatewayError:
        error = GATEWAY_DOWN
    if step is not None and step.already_done:
        messages.success(request, _("Your card is saved and your pledge is active."))
        return redirect("pledges:detail", token=pledge.token)
    pledge.refresh_from_db()
    return render(
        request,
        "pledges/card.html",
        {
            "pledge": pledge,
            "campaign": pledge.campaign,
            "tier_label": Tier.Kind(pledge.tier).label,
            "deadline": pledge.campaign.deadline_display,
            "client_secret": step.client_secret if step else "",
            "changing_card": pledge.status == Pledge.Status.ACTIVE,
            "error": error,
            "stripe_js_url": settings.STRIPE_JS_URL,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        },
    )


@login_required
@require_POST
def card_intent(request: HttpRequest, token: str) -> JsonResponse:
    """A fresh client secret for another try after a decline (localstripe cancels the intent)."""
    pledge = _own_pledge(request, token)
    if not _pledge_step_allowed(request.user):
        return JsonResponse({"error": TOO_MANY_STEPS}, status=429)
    try:
        step = pledge_setup_intent_ensure(pledge=pledge)
    except PledgeError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    except gateway.GatewayError:
        return JsonResponse({"error": GATEWAY_DOWN}, status=503)
    if step.already_done:
        return JsonResponse({"done": True, "redirect": _detail_url(pledge)})
    return JsonResponse({"client_secret": step.client_secret})


def _detail_url(pledge: Pledge) -> str:
    return reverse("pledges:detail", kwargs={"token": pledge.token})


@login_required
@require_POST
def card_complete(request: HttpRequest, token: str) -> HttpResponse:
    """Where the browser lands after Stripe.js reports success. The service re-reads the
    SetupIntent from Stripe; the browser's word is never taken for it."""
    pledge = _own_pledge(request, token)
    if not _pledge_step_allowed(request.user):
        messages.error(request, _(TOO_MANY_STEPS))
        return redirect("pledges:detail", token=pledge.token)
    setup_intent_id = request.POST.get("setup_intent", "")
    if not SETUP_INTENT_ID.match(setup_intent_id):
        setup_intent_id = pledge.stripe_setup_intent_id
    if not setup_intent_id:
        return redirect("pledges:card", token=pledge.token)
    try:
        result = pledge_activate_from_setup_intent(
            setup_intent_id=setup_intent_id, actor=request.user, actor_label="browser return"
        )
    except gateway.GatewayError:
        messages.error(
            request,
            _(
                "We could not confirm your card with our processor just now. If it was saved, "
                "your pledge becomes active within minutes; you can check here."
            ),
        )
        return redirect("pledges:detail", token=pledge.token)
    if result.pledge is None or result.pledge.pk != pledge.pk:
        raise Http404("No such pledge")
    if result.outcome == ActivationOutcome.ACTIVATED:
        messages.success(request, _("Thank you! Your pledge is active. Nothing has been charged."))
    elif result.outcome == ActivationOutcome.CARD_CHANGED:
        messages.success(request, _("Your new card is saved for this pledge."))
    elif result.outcome == ActivationOutcome.NOT_SUCCEEDED:
        messages.error(request, result.message)
        return redirect("pledges:card", token=pledge.token)
    elif result.outcome == ActivationOutcome.FROZEN:
        messages.error(request, result.message)
    return redirect("pledges:detail", token=pledge.token)


@login_required
@require_http_methods(["GET"])
def pledge_detail(request: HttpRequest, token: str) -> HttpResponse:
    """The supporter's own pledge: status, amount, card, and what they can still do."""
    pledge = _own_pledge(request, token)
    campaign = pledge.campaign
    next_steps = None
    if pledge.status == Pledge.Status.ACTIVE:
        # After pledging, the next step (issue 16): share with their own code, next action.
        from actions.selectors import supporter_next_steps
        from outreach.services import supporter_ensure_share_code

        next_steps = supporter_next_steps(
            campaign=campaign,
            supporter=pledge.supporter,
            share_code=supporter_ensure_share_code(supporter=pledge.supporter),
        )
    return render(
        request,
        "pledges/detail.html",
        {
            "next": next_steps,
            "pledge": pledge,
            "campaign": campaign,
            "tier_label": Tier.Kind(pledge.tier).label,
            "deadline": campaign.deadline_display,
            "open": campaign_is_open(campaign),
            "events": pledge.events.order_by("-created_at", "-id")[:20],
        },
    )


@login_required
@require_POST
def pledge_cancel_view(request: HttpRequest, token: str) -> HttpResponse:
    pledge = _own_pledge(request, token)
    try:
        canceled = pledge_cancel(pledge=pledge, actor=request.user)
    except PledgeError as exc:
        messages.error(request, str(exc))
    else:
        if canceled:
            messages.success(
                request,
                _(
                    "Your pledge is canceled and will never be charged. "
                    "You are still an Ally of this campaign."
                ),
            )
    return redirect("pledges:detail", token=pledge.token)
