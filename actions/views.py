"""Take-action pages: the list at /c/<slug>/act/ and one page per action. Thin: find the
campaign, the action and the visitor, validate the form, call one service, redirect."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from actions import services
from actions.congress_page import action_page_extras, congress_block
from actions.content import (
    event_ics,
    event_location_line,
    event_when_display,
    fill_placeholders,
    local_datetime_display,
    mailto_url,
    script_segments,
)
from actions.forms import ActorForm, CallOutcomeForm, MemberCallOutcomeForm
from actions.identity import Viewer, viewer_for, viewer_forget, viewer_remember, viewer_typed
from actions.models import Action, ActionCompletion, CallOutcome
from actions.selectors import (
    State,
    action_for_page,
    action_total_label,
    action_upcoming,
    campaign_action_section,
    completions_by_action,
    my_call_outcomes,
    petition_count_line,
    supporter_next_steps,
)
from campaigns.models import Campaign
from campaigns.selectors import campaign_is_open, user_can_edit_campaign
from supporters.forms import AllySignOnForm
from supporters.middleware import tracking_for
from supporters.models import Supporter
from supporters.selectors import user_email_is_verified
from supporters.throttle import client_ip, sign_on_allowed, sign_on_email_allowed

RATE_LIMITED = (
    "You have reported a lot in the last few minutes. Thank you! Please wait a little and try "
    "again."
)
SIGN_ON_LIMITED = (
    "Too many sign-ons from your network in the last few minutes. Please wait a little and try "
    "again."
)
UNAVAILABLE = "This action is not open right now, so nothing was recorded."
WAITING = gettext_lazy(
    "Thank you! We noted it. It counts once you open the link we emailed you (check your inbox)."
)
WAITING_RSVP = gettext_lazy(
    "Thank you! Open the link we emailed you to confirm: places go to confirmed RSVPs, while "
    "any are left."
)


def _waiting(viewer: Viewer) -> bool:
    """Whether what this visitor reports waits for their address to be confirmed."""
    return viewer.supporter is not None and viewer.supporter.confirmed_at is None


def _campaign(request, slug: str) -> Campaign:
    """Drafts and campaigns in review exist only for their organizers."""
    campaign = get_object_or_404(Campaign.objects.select_related("organization"), slug=slug)
    if not campaign.is_public and not user_can_edit_campaign(request.user, campaign):
        raise Http404("No such campaign.")
    return campaign


def _action(request, campaign: Campaign, pk: int, viewer: Viewer) -> Action:
    action = action_for_page(
        campaign=campaign,
        pk=pk,
        now=timezone.now(),
        early_access=viewer.early_access,
        preview=user_can_edit_campaign(request.user, campaign),
    )
    if action is None:
        raise Http404("No such action.")
    return action


def _verified(request) -> bool:
    user = request.user
    return user.is_authenticated and user_email_is_verified(user=user)


def _detail_url(action: Action, anchor: str = "") -> str:
    url = reverse("actions:detail", kwargs={"slug": action.campaign.slug, "pk": action.pk})
    return f"{url}#{anchor}" if anchor else url


def action_list(request, slug: str):
    campaign = _campaign(request, slug)
    viewer = viewer_for(request, campaign)
    section = campaign_action_section(
        campaign=campaign, supporter=viewer.supporter, early_access=viewer.early_access
    )
    return render(
        request,
        "actions/list.html",
        {"campaign": campaign, "section": section, "viewer": viewer},
    )


def _detail_context(request, campaign, action, viewer, **extra) -> dict:
    supporter = viewer.supporter
    completion = completions_by_action(supporter=supporter, action_ids=[action.pk]).get(action.pk)
    context = {
        "campaign": campaign,
        "action": action,
        "viewer": viewer,
        "open": action.state in {State.OPEN, State.EARLY},
        "preview": action.state == State.HIDDEN,
        "early": action.state == State.EARLY,
        "done": completion is not None and completion.counted_at is not None,
        "waiting": completion is not None and completion.counted_at is None,
        "total": action_total_label(
            action, invite=action.state in {State.OPEN, State.EARLY, State.HIDDEN}
        ),
        "links": list(action.links.all()),
        "ends_display": (
            local_datetime_display(action.ends_at, campaign.tz) if action.ends_at else ""
        ),
        "opens_display": (
            local_datetime_display(action.starts_at, campaign.tz) if action.starts_at else ""
        ),
    }
    if context["done"]:
        # The thank-you: what to do next (issue 16), with their own share code once proven.
        from outreach.services import supporter_ensure_share_code

        proven = _proven_viewer(viewer)
        context["next"] = supporter_next_steps(
            campaign=campaign,
            supporter=supporter,
            share_code=supporter_ensure_share_code(supporter=supporter) if proven else "",
            after_action_id=action.pk,
        )
    if not viewer.known and action.kind in {Action.Kind.CALL, Action.Kind.EMAIL, Action.Kind.EVENT}:
        fixed = request.user.email if _verified(request) else None
        initial = {}
        if request.user.is_authenticated:
            initial = {"email": request.user.email, **_account_details(request)}
        context["actor_form"] = extra.pop("actor_form", None) or ActorForm(
            fixed_email=fixed, initial=initial
        )
    if action.kind == Action.Kind.CALL:
        mine = my_call_outcomes(supporter=supporter, action=action)
        context["segments"] = script_segments(
            action.call_script, name=viewer.name, zip_code=viewer.zip_code
        )
        context["targets"] = [
            {"target": t, "mine": mine.get(t.pk), "mine_label": _outcome_label(mine.get(t.pk))}
            for t in action.targets.all()
            if not t.legislator_id  # members of Congress have their own cards
        ]
        context["outcome_choices"] = CallOutcome.Outcome.choices
        context["outcome_form"] = extra.pop("outcome_form", None)
    elif action.kind == Action.Kind.EMAIL:
        letter = fill_placeholders(action.email_body, name=viewer.name, zip_code=viewer.zip_code)
        context["letter"] = letter
        context["mailto"] = mailto_url(
            to=action.email_to, subject=action.email_subject, body=letter
        )
    elif action.kind == Action.Kind.PETITION:
        context["count"] = petition_count_line(action)
        context["proven_viewer"] = _proven_viewer(viewer)
        if "petition_form" in extra:
            context["petition_form"] = extra.pop("petition_form")
        else:
            fixed = request.user.email if _verified(request) else None
            initial = {}
            if viewer.known:
                initial = {"name": viewer.name, "postal_code": viewer.zip_code}
            elif request.user.is_authenticated:
                initial = _account_details(request)
            context["petition_form"] = AllySignOnForm(
                campaign=campaign, fixed_email=fixed, initial=initial
            )
    elif action.kind == Action.Kind.EVENT:
        context["when"] = event_when_display(action)
        context["where"] = event_location_line(action)
        context["spots_left"] = action.event_spots_left
    context.update(action_page_extras(request=request, action=action, viewer=viewer))
    context.update(extra)
    return context


def _outcome_label(value: str | None) -> str:
    return CallOutcome.Outcome(value).label if value else ""


@require_safe
def action_detail(request, slug: str, pk: int):
    campaign = _campaign(request, slug)
    viewer = viewer_for(request, campaign)
    try:
        action = _action(request, campaign, pk, viewer)
    except Http404:
        upcoming = action_upcoming(campaign=campaign, pk=pk, now=timezone.now())
        if upcoming is None:
            raise
        return render(request, "actions/teaser.html", _teaser_context(campaign, upcoming))
    return render(
        request, "actions/detail.html", _detail_context(request, campaign, action, viewer)
    )


def _teaser_context(campaign: Campaign, action: Action) -> dict:
    return {
        "campaign": campaign,
        "action": action,
        "opens_display": local_datetime_display(action.starts_at, campaign.tz),
        "advocates_display": (
            local_datetime_display(action.advocates_open_at, campaign.tz)
            if action.advocates_first_hours
            else ""
        ),
        "campaign_open": campaign_is_open(campaign),
    }


@require_POST
def actor_identify(request, slug: str, pk: int):
    """An unknown visitor tells us who they are before reporting (name, email, ZIP)."""
    campaign = _campaign(request, slug)
    viewer = viewer_for(request, campaign)
    action = _action(request, campaign, pk, viewer)
    verified = _verified(request)
    form = ActorForm(request.POST, fixed_email=request.user.email if verified else None)
    if not sign_on_allowed(request):
        form.add_error(None, SIGN_ON_LIMITED)
        context = _detail_context(request, campaign, action, viewer, actor_form=form)
        return render(request, "actions/detail.html", context, status=429)
    if not form.is_valid():
        context = _detail_context(request, campaign, action, viewer, actor_form=form)
        return render(request, "actions/detail.html", context, status=400)
    email = form.cleaned_data["email"]
    if not verified and not sign_on_email_allowed(scope=f"act-{campaign.pk}", email=email):
        form.add_error(
            "email",
            gettext(
                "We have already sent several emails to this address in the last hour. Please "
                "check your inbox (and spam folder), or try again later."
            ),
        )
        context = _detail_context(request, campaign, action, viewer, actor_form=form)
        return render(request, "actions/detail.html", context, status=429)
    supporter, outcome = services.actor_sign_on(
        campaign=campaign,
        name=form.cleaned_data["name"],
        email=email,
        postal_code=form.cleaned_data["postal_code"],
        action_id=action.pk,
        user=request.user if request.user.is_authenticated else None,
        email_verified=verified,
        tracking=tracking_for(request, campaign.slug),
    )
    if supporter is None:
        # The address is already on the campaign: only its owner, through the emailed link,
        # may act as that record.
        messages.info(
            request,
            gettext(
                "We emailed a link to %(email)s. Open it to continue: what you do counts once "
                "you have."
            )
            % {"email": email},
        )
        return redirect(_detail_url(action, "who"))
    viewer_remember(
        request,
        campaign,
        supporter=supporter,
        name=form.cleaned_data["name"],
        zip_code=form.cleaned_data["postal_code"],
        proven=outcome == "owner",
    )
    if outcome == "owner":
        messages.success(
            request, gettext("Thanks, %(name)s. Your details are filled in.") % form.cleaned_data
        )
    else:
        messages.success(
            request,
            gettext(
                "Thanks, %(name)s. Your details are filled in. We emailed you a link: what you "
                "do here counts once you open it."
            )
            % form.cleaned_data,
        )
    return redirect(_detail_url(action, "do-it"))


def actor_continue(request, slug: str, pk: int, token: str):
    """The link emailed to an address typed on a take-action page. GET shows a button; only the
    POST proves the address (mail scanners follow links, not forms) and continues as its
    supporter row, counting what was reported with it meanwhile."""
    campaign = _campaign(request, slug)
    supporter = services.actor_link_supporter(campaign=campaign, token=token)
    context = {"campaign": campaign, "supporter": supporter, "action_pk": pk}
    if supporter is None:
        context["invalid"] = True
        return render(request, "actions/actor_continue.html", context, status=404)
    if request.method == "POST":
        supporter = services.actor_confirm_by_link(
            campaign=campaign,
            token=token,
            count_waiting=viewer_typed(request, campaign, supporter),
        )
        if supporter is None:  # left the campaign a moment ago
            context["invalid"] = True
            return render(request, "actions/actor_continue.html", context, status=404)
        viewer_remember(
            request,
            campaign,
            supporter=supporter,
            name=supporter.name,
            zip_code=supporter.postal_code,
            proven=True,
        )
        messages.success(
            request, gettext("Thank you! Your address is confirmed; you can continue.")
        )
        return redirect(reverse("actions:detail", kwargs={"slug": campaign.slug, "pk": pk}))
    return render(request, "actions/actor_continue.html", context)


@require_POST
def actor_forget(request, slug: str, pk: int):
    campaign = _campaign(request, slug)
    viewer_forget(request, campaign)
    return redirect(reverse("actions:detail", kwargs={"slug": campaign.slug, "pk": pk}))


def _reporting(request, slug: str, pk: int, kind: str):
    """Common start of every report: campaign, visitor, action of the right kind, rate limit.
    Returns (campaign, viewer, action, error_response)."""
    campaign = _campaign(request, slug)
    viewer = viewer_for(request, campaign)
    action = _action(request, campaign, pk, viewer)
    if action.kind != kind:
        raise Http404("No such action.")
    if not viewer.known:
        messages.error(request, "Please tell us who you are first.")
        return campaign, viewer, action, redirect(_detail_url(action, "who"))
    try:
        services.report_throttle(supporter_id=viewer.supporter.pk, ip=client_ip(request))
    except services.RateLimited:
        context = _detail_context(request, campaign, action, viewer, error=RATE_LIMITED)
        return campaign, viewer, action, render(request, "actions/detail.html", context, status=429)
    return campaign, viewer, action, None


def _unavailable(request, campaign, action, viewer):
    context = _detail_context(request, campaign, action, viewer, error=UNAVAILABLE)
    return render(request, "actions/detail.html", context, status=409)


@require_POST
def call_report(request, slug: str, pk: int):
    campaign, viewer, action, error = _reporting(request, slug, pk, Action.Kind.CALL)
    if error:
        return error
    form = CallOutcomeForm(request.POST, action=action)
    if not form.is_valid():
        context = _detail_context(request, campaign, action, viewer, outcome_form=form)
        return render(request, "actions/detail.html", context, status=400)
    try:
        result = services.call_outcome_report(
            action=action,
            target_id=form.cleaned_data["target"],
            supporter=viewer.supporter,
            outcome=form.cleaned_data["outcome"],
            early_access=viewer.early_access,
        )
    except services.ActionUnavailable:
        return _unavailable(request, campaign, action, viewer)
    target = next(t for t in action.targets.all() if t.pk == form.cleaned_data["target"])
    if _waiting(viewer):
        messages.info(request, str(WAITING))
    elif result == "unchanged":
        messages.info(request, f"We already have your call to {target.name}. Thank you!")
    else:
        messages.success(
            request,
            gettext("Thank you for calling %(who)s! You reported: “%(outcome)s”.")
            % {"who": target.name, "outcome": _outcome_label(form.cleaned_data["outcome"])},
        )
    return redirect(_detail_url(action, f"target-{target.pk}"))


@require_POST
def email_sent(request, slug: str, pk: int):
    campaign, viewer, action, error = _reporting(request, slug, pk, Action.Kind.EMAIL)
    if error:
        return error
    try:
        counted = services.action_complete(
            action=action, supporter=viewer.supporter, early_access=viewer.early_access
        )
    except services.ActionUnavailable:
        return _unavailable(request, campaign, action, viewer)
    if _waiting(viewer):
        messages.info(request, str(WAITING))
    elif counted:
        messages.success(request, "Thank you for sending your email! It is counted.")
    else:
        messages.info(request, "We already counted your email. Thank you!")
    return redirect(_detail_url(action, "do-it"))


@require_POST
def event_rsvp(request, slug: str, pk: int):
    campaign, viewer, action, error = _reporting(request, slug, pk, Action.Kind.EVENT)
    if error:
        return error
    if request.POST.get("cancel"):
        if services.event_rsvp_cancel(action=action, supporter=viewer.supporter):
            messages.info(request, "Your RSVP is cancelled and your place given back.")
        return redirect(_detail_url(action, "do-it"))
    try:
        going = services.event_rsvp(
            action=action, supporter=viewer.supporter, early_access=viewer.early_access
        )
    except services.ActionUnavailable:
        return _unavailable(request, campaign, action, viewer)
    except services.EventFull:
        context = _detail_context(
            request,
            campaign,
            action,
            viewer,
            error="Sorry, every place is taken. Nothing was booked for you.",
        )
        return render(request, "actions/detail.html", context, status=409)
    if _waiting(viewer):
        messages.info(request, str(WAITING_RSVP))
    elif going:
        messages.success(
            request, "You're going! Add it to your calendar; we'll email you a reminder."
        )
    else:
        messages.info(request, "You're already on the list.")
    return redirect(_detail_url(action, "do-it"))


@require_safe
def event_calendar(request, slug: str, pk: int):
    campaign = _campaign(request, slug)
    viewer = viewer_for(request, campaign)
    action = _action(request, campaign, pk, viewer)
    if action.kind != Action.Kind.EVENT or not action.event_starts_at or not action.event_ends_at:
        raise Http404("No such event.")
    body = event_ics(action, url=request.build_absolute_uri(_detail_url(action)))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{campaign.slug}-event-{action.pk}.ics"'
    )
    return response


# --- petitions --------------------------------------------------------------------------------
SESSION_PETITION = "rr_petition_pending"


@require_POST
def petition_sign(request, slug: str, pk: int):
    campaign = _campaign(request, slug)
    viewer = viewer_for(request, campaign)
    action = _action(request, campaign, pk, viewer)
    if action.kind != Action.Kind.PETITION:
        raise Http404("No such action.")
    if _proven_viewer(viewer):
        # They proved who they are on this campaign already (their account, or the emailed
        # link): never asked again (issue 16). A typed address alone still gets the form.
        return _petition_sign_as_viewer(request, campaign, action, viewer)
    verified = _verified(request)
    form = AllySignOnForm(
        request.POST, campaign=campaign, fixed_email=request.user.email if verified else None
    )
    if form.is_bot():
        request.session[SESSION_PETITION] = ""
        return redirect("actions:petition_check_email", slug=campaign.slug, pk=action.pk)
    if not sign_on_allowed(request):
        form.add_error(None, SIGN_ON_LIMITED)
        context = _detail_context(request, campaign, action, viewer, petition_form=form)
        return render(request, "actions/detail.html", context, status=429)
    if not form.is_valid():
        context = _detail_context(request, campaign, action, viewer, petition_form=form)
        return render(request, "actions/detail.html", context, status=400)
    email = form.cleaned_data["email"]
    if not sign_on_email_allowed(scope=f"action-{action.pk}", email=email):
        form.add_error(
            "email",
            "We have already sent several emails to this address in the last hour. Please "
            "check your inbox (and spam folder), or try again later.",
        )
        context = _detail_context(request, campaign, action, viewer, petition_form=form)
        return render(request, "actions/detail.html", context, status=429)
    try:
        _completion, outcome = services.petition_sign(
            action=action,
            name=form.cleaned_data["name"],
            email=email,
            postal_code=form.cleaned_data["postal_code"],
            consent_updates=form.cleaned_data["consent_updates"],
            consent_updates_text=form.wording["updates"],
            consent_org=form.cleaned_data["consent_org"],
            consent_org_text=form.wording["org"],
            user=request.user if request.user.is_authenticated else None,
            email_verified=verified,
            early_access=viewer.early_access,
            tracking=tracking_for(request, campaign.slug),
        )
    except services.ActionUnavailable:
        return _unavailable(request, campaign, action, viewer)
    if outcome == "confirm_sent":
        request.session[SESSION_PETITION] = email
        return redirect("actions:petition_check_email", slug=campaign.slug, pk=action.pk)
    if outcome == "signed":
        messages.success(request, "Thank you for signing! Your signature is counted.")
    else:
        messages.info(request, "You have already signed this petition. Thank you!")
    return redirect(_detail_url(action, "do-it"))


def _account_details(request) -> dict:
    """Name and ZIP a signed-in person with a verified address gave on any campaign, so one
    identity is not asked again (issue 16). Only from rows their proven address reaches
    (`supporters_for_user`); never from a typed address."""
    details = {"name": request.user.get_full_name()}
    if _verified(request):
        from supporters.selectors import supporters_for_user

        row = (
            supporters_for_user(user=request.user)
            .filter(left_at__isnull=True)
            .exclude(postal_code="")
            .order_by("-updated_at")
            .first()
        )
        if row is not None:
            details = {"name": row.name or details["name"], "postal_code": row.postal_code}
    return details


def _proven_viewer(viewer: Viewer) -> bool:
    """A visitor acting as a row whose address is proven: a signed-in owner, or a browser that
    opened the emailed link (a merely typed row is dropped once proven, see identity.py)."""
    return viewer.known and viewer.supporter.confirmed_at is not None


def _petition_sign_as_viewer(request, campaign, action, viewer):
    try:
        services.report_throttle(supporter_id=viewer.supporter.pk, ip=client_ip(request))
    except services.RateLimited:
        context = _detail_context(request, campaign, action, viewer, error=RATE_LIMITED)
        return render(request, "actions/detail.html", context, status=429)
    try:
        counted = services.action_complete(
            action=action, supporter=viewer.supporter, early_access=viewer.early_access
        )
    except services.ActionUnavailable:
        return _unavailable(request, campaign, action, viewer)
    if counted:
        messages.success(request, gettext("Thank you for signing! Your signature is counted."))
    else:
        messages.info(request, gettext("You have already signed this petition. Thank you!"))
    return redirect(_detail_url(action, "do-it"))


@require_safe
def petition_check_email(request, slug: str, pk: int):
    campaign = _campaign(request, slug)
    action = get_object_or_404(Action, campaign=campaign, pk=pk, kind=Action.Kind.PETITION)
    return render(
        request,
        "actions/petition_check_email.html",
        {"campaign": campaign, "action": action, "email": request.session.get(SESSION_PETITION)},
    )


def petition_confirm(request, slug: str, pk: int, token: str):
    """GET shows a button; only the POST counts (mail scanners follow links, not forms)."""
    campaign = _campaign(request, slug)
    action = get_object_or_404(
        Action, campaign=campaign, pk=pk, kind=Action.Kind.PETITION, published=True
    )
    action.campaign = campaign
    supporter = Supporter.objects.filter(
        campaign=campaign, confirm_token=token, left_at__isnull=True
    ).first()
    completion = (
        ActionCompletion.objects.filter(action=action, supporter=supporter).first()
        if supporter
        else None
    )
    context = {"campaign": campaign, "action": action, "supporter": supporter}
    if completion is None:
        context["invalid"] = True
        return render(request, "actions/petition_confirm.html", context, status=404)
    if request.method == "POST":
        services.petition_confirm(action=action, token=token)
        viewer_remember(
            request,
            campaign,
            supporter=supporter,
            name=supporter.name,
            zip_code=supporter.postal_code,
            proven=True,
        )
        messages.success(request, "Thank you! Your signature is confirmed and counted.")
        return redirect(_detail_url(action, "do-it"))
    context["already"] = completion.counted_at is not None
    return render(request, "actions/petition_confirm.html", context)


@require_POST
def call_report_member(request, slug: str, pk: int):
    """A call to one of the supporter's own members of Congress: counted per office like any
    target (the office's call target is made on the first report). The member must be one the
    supporter's ZIP code leads to."""
    campaign, viewer, action, error = _reporting(request, slug, pk, Action.Kind.CALL)
    if error:
        return error
    form = MemberCallOutcomeForm(request.POST)
    block = member = None
    form.is_valid()  # fills cleaned_data with what is valid, so a missing outcome keeps the member
    if action.congress_targets and {"member", "zip"} <= set(form.cleaned_data):
        block = congress_block(
            action=action, viewer=viewer, typed_zip=form.cleaned_data["zip"], district_key=""
        )
        allowed = {
            m.pk: m
            for m in (
                block.lookup.all_members(chamber=action.congress_targets) if block.lookup else []
            )
        }
        member = allowed.get(form.cleaned_data["member"])
        if member is None:
            form.add_error(
                None, gettext("That member of Congress does not represent your ZIP code.")
            )
    if not form.is_valid() or not action.congress_targets:
        messages_ = list(dict.fromkeys(e for errors in form.errors.values() for e in errors))
        if block is not None and member is not None and set(form.errors) == {"outcome"}:
            # Only the outcome is missing: say so next to that member's radios (issue 16).
            context = _detail_context(
                request,
                campaign,
                action,
                viewer,
                member_error={"pk": member.pk, "text": " ".join(messages_)},
            )
        else:
            context = _detail_context(
                request,
                campaign,
                action,
                viewer,
                error=" ".join(messages_)
                or gettext("This action does not reach members of Congress."),
            )
        return render(request, "actions/detail.html", context, status=400)
    target = services.call_target_for_legislator(action=action, legislator=member)
    try:
        result = services.call_outcome_report(
            action=action,
            target_id=target.pk,
            supporter=viewer.supporter,
            outcome=form.cleaned_data["outcome"],
            early_access=viewer.early_access,
        )
    except services.ActionUnavailable:
        return _unavailable(request, campaign, action, viewer)
    who = f"{member.title} {member.name}"
    if _waiting(viewer):
        messages.info(request, str(WAITING))
    elif result == "unchanged":
        messages.info(
            request, gettext("We already have your call to %(who)s. Thank you!") % {"who": who}
        )
    else:
        messages.success(
            request,
            gettext("Thank you for calling %(who)s! You reported: “%(outcome)s”.")
            % {"who": who, "outcome": _outcome_label(form.cleaned_data["outcome"])},
        )
    query = urlencode({"zip": block.zip_code, "district": form.cleaned_data["district"]})
    url = reverse("actions:detail", kwargs={"slug": campaign.slug, "pk": action.pk})
    return redirect(f"{url}?{query}#member-{member.pk}")
