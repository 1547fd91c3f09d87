"""Pages for supporters: the Ally sign-on and its confirmation, and the /me/ dashboard."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Campaign, Tier
from campaigns.selectors import campaign_is_open
from pledges.services.account_deletion import account_delete
from supporters import services
from supporters.forms import AllySignOnForm, DeleteAccountForm, PreferencesForm, consent_wording
from supporters.middleware import tracking_for
from supporters.models import Supporter
from supporters.selectors import (
    dashboard_rows,
    supporter_count_line,
    supporters_for_user,
    user_data_export,
    user_email_is_verified,
)
from supporters.throttle import sign_on_allowed, sign_on_email_allowed

SESSION_PENDING = "rr_ally_pending"  # the address we just emailed, for the "check your email" page


def _public_campaign(slug: str) -> Campaign:
    """Campaigns in draft or review do not exist for the public."""
    campaign = get_object_or_404(Campaign.objects.select_related("organization"), slug=slug)
    if not campaign.is_public:
        raise Http404("No such campaign.")
    return campaign


def _ally_tier(campaign: Campaign) -> Tier | None:
    return campaign.tiers.filter(kind=Tier.Kind.ALLY).first()


def ally_sign_on(request, slug: str):
    campaign = _public_campaign(slug)
    context = {"campaign": campaign, "tier": _ally_tier(campaign), "count": None}
    if not campaign_is_open(campaign):
        context["closed"] = True
        context["deadline_passed"] = campaign.deadline <= timezone.now()
        return render(request, "supporters/ally_sign_on.html", context, status=200)
    context["count"] = supporter_count_line(campaign=campaign)

    user = request.user if request.user.is_authenticated else None
    verified = bool(user) and user_email_is_verified(user=user)
    fixed_email = user.email if verified else None
    if user and verified:
        mine = supporters_for_user(user=user).filter(campaign=campaign).order_by("pk").first()
        if mine and mine.is_confirmed:
            context["already"] = mine
    initial = {}
    if user:
        initial = {"name": user.get_full_name() or user.display_name, "email": user.email}

    if request.method == "POST":
        form = AllySignOnForm(request.POST, campaign=campaign, fixed_email=fixed_email)
        if form.is_bot():
            # Look like success so the bot learns nothing; store and send nothing.
            request.session[SESSION_PENDING] = ""
            return redirect("supporters:ally_check_email", slug=campaign.slug)
        if not sign_on_allowed(request):
            form.add_error(
                None,
                "Too many sign-ons from your network in the last hour. Please wait a while "
                "and try again.",
            )
            return render(
                request, "supporters/ally_sign_on.html", {**context, "form": form}, status=429
            )
        if form.is_valid():
            email = form.cleaned_data["email"]
            if not sign_on_email_allowed(scope=f"campaign-{campaign.pk}", email=email):
                form.add_error(
                    "email",
                    "We have already sent several emails to this address in the last hour. "
                    "Please check your inbox (and spam folder), or try again later.",
                )
                return render(
                    request, "supporters/ally_sign_on.html", {**context, "form": form}, status=429
                )
            try:
                supporter, outcome = services.supporter_sign_on(
                    campaign=campaign,
                    email=email,
                    name=form.cleaned_data["name"],
                    postal_code=form.cleaned_data["postal_code"],
                    phone=form.cleaned_data["phone"],
                    consent_updates=form.cleaned_data["consent_updates"],
                    consent_updates_text=form.wording["updates"],
                    consent_org=form.cleaned_data["consent_org"],
                    consent_org_text=form.wording["org"],
                    tracking=tracking_for(request, campaign.slug),
                    user=user,
                    email_verified=verified,
                )
            except services.CampaignClosedForSignOn:
                context["closed"] = True
                return render(request, "supporters/ally_sign_on.html", context)
            if outcome == "confirmed":
                request.session["rr_confirmed"] = supporter.pk
                return redirect("supporters:ally_thanks", slug=campaign.slug)
            request.session[SESSION_PENDING] = email
            return redirect("supporters:ally_check_email", slug=campaign.slug)
    else:
        form = AllySignOnForm(campaign=campaign, fixed_email=fixed_email, initial=initial)
    context["form"] = form
    return render(request, "supporters/ally_sign_on.html", context)


def ally_check_email(request, slug: str):
    campaign = _public_campaign(slug)
    return render(
        request,
        "supporters/ally_check_email.html",
        {"campaign": campaign, "email": request.session.get(SESSION_PENDING, "")},
    )


def ally_confirm(request, slug: str, token: str):
    """GET shows a button; only the POST confirms (mail scanners follow links, not forms)."""
    campaign = _public_campaign(slug)
    supporter = Supporter.objects.filter(campaign=campaign, confirm_token=token).first()
    if supporter is None or supporter.left_at is not None:
        return render(
            request,
            "supporters/ally_confirm.html",
            {"campaign": campaign, "invalid": True},
            status=404,
        )
    if request.method == "POST":
        if supporter.confirmed_at is None and not campaign_is_open(campaign):
            return render(
                request,
                "supporters/ally_confirm.html",
                {"campaign": campaign, "supporter": supporter, "closed": True},
            )
        services.supporter_confirm_by_token(campaign=campaign, token=token)
        request.session["rr_confirmed"] = supporter.pk
        return redirect("supporters:ally_thanks", slug=campaign.slug)
    return render(
        request, "supporters/ally_confirm.html", {"campaign": campaign, "supporter": supporter}
    )


def ally_thanks(request, slug: str):
    campaign = _public_campaign(slug)
    supporter = None
    pk = request.session.get("rr_confirmed")
    if pk:
        supporter = Supporter.objects.filter(pk=pk, campaign=campaign).first()
    from actions.selectors import supporter_next_steps
    from outreach.services import supporter_ensure_share_code

    # The session's row was proven (the confirm button, or a verified account): their own
    # share code, so the people they bring in count as their referrals.
    code = supporter_ensure_share_code(supporter=supporter) if supporter else ""
    return render(
        request,
        "supporters/ally_thanks.html",
        {
            "campaign": campaign,
            "supporter": supporter,
            "count": supporter_count_line(campaign=campaign),
            "next": supporter_next_steps(campaign=campaign, supporter=supporter, share_code=code),
        },
    )


def unsubscribe(request, slug: str, token: str):
    """The link in every update email: a page with a button (POST), like the confirm link."""
    campaign = _public_campaign(slug)
    supporter = Supporter.objects.filter(campaign=campaign, confirm_token=token).first()
    if supporter is None:
        return render(
            request,
            "supporters/unsubscribe.html",
            {"campaign": campaign, "invalid": True},
            status=404,
        )
    done = False
    if request.method == "POST":
        services.supporter_unsubscribe(supporter=supporter)
        done = True
    return render(
        request,
        "supporters/unsubscribe.html",
        {"campaign": campaign, "supporter": supporter, "done": done},
    )


# --- /me/ -------------------------------------------------------------------------------------
@login_required
def dashboard(request):
    rows = dashboard_rows(user=request.user)
    for row in rows:
        s = row["supporter"]
        row["form"] = PreferencesForm(
            campaign=s.campaign,
            prefix=f"s{s.pk}",
            initial={
                "display_name": s.display_name,
                "public_listing": s.public_listing,
                "consent_updates": s.consent_updates,
                "consent_org": s.consent_org,
            },
        )
    return render(request, "supporters/dashboard.html", {"rows": rows})


def _my_supporter(request, pk: int) -> Supporter:
    """One of my own Supporter rows, or 404 (never 403: ids of others are not confirmed)."""
    return get_object_or_404(
        supporters_for_user(user=request.user).select_related("campaign"), pk=pk
    )


@login_required
@require_POST
def preferences(request, pk: int):
    supporter = _my_supporter(request, pk)
    form = PreferencesForm(request.POST, campaign=supporter.campaign, prefix=f"s{supporter.pk}")
    if not form.is_valid():
        messages.error(request, _("Your changes could not be saved: ") + form.errors.as_text())
        return redirect("supporters:dashboard")
    wording = consent_wording(supporter.campaign)
    changed = services.supporter_update_preferences(
        supporter=supporter,
        display_name=form.cleaned_data["display_name"],
        public_listing=form.cleaned_data["public_listing"],
        consent_updates=form.cleaned_data["consent_updates"],
        consent_updates_text=wording["updates"],
        consent_org=form.cleaned_data["consent_org"],
        consent_org_text=wording["org"],
    )
    if changed:
        messages.success(
            request, _("Saved your choices for “%(title)s”.") % {"title": supporter.campaign.title}
        )
    else:
        messages.info(request, _("Nothing changed."))
    return redirect(reverse("supporters:dashboard") + f"#supporter-{supporter.pk}")


@login_required
@require_POST
def leave(request, pk: int):
    supporter = _my_supporter(request, pk)
    services.supporter_leave(supporter=supporter)
    messages.success(
        request,
        _("You left “%(title)s”. You will get no more emails about it.")
        % {"title": supporter.campaign.title},
    )
    return redirect("supporters:dashboard")


@login_required
def export(request):
    data = user_data_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="rallyround-my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def delete_account(request):
    if request.method == "POST":
        form = DeleteAccountForm(request.POST, user=request.user)
        if form.is_valid():
            user = request.user
            account_delete(user=user)
            logout(request)
            return render(request, "supporters/account_deleted.html")
    else:
        form = DeleteAccountForm(user=request.user)
    return render(request, "supporters/delete_account.html", {"form": form})
