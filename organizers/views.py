"""Public pages: apply to run campaigns, and accept an organizer invitation."""

from __future__ import annotations

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from organizers import services
from organizers.forms import AcceptInvitationForm, ApplicationForm
from supporters.throttle import client_ip, throttle_hit

# Applying sends staff an email: a handful per address and per client is plenty for people.
LIMITS = {"ip": (5, 3600), "email": (3, 86400)}
SESSION_APPLIED = "rr_applied"


def _over_limit(request, email: str) -> bool:
    ip_limit, ip_window = LIMITS["ip"]
    email_limit, email_window = LIMITS["email"]
    ok = throttle_hit(
        key=f"apply-ip:{client_ip(request)}", limit=ip_limit, window_seconds=ip_window
    )
    if email:
        ok = (
            throttle_hit(
                key=f"apply-email:{email.strip().lower()}",
                limit=email_limit,
                window_seconds=email_window,
            )
            and ok
        )
    return not ok


def start(request):
    """“Start a campaign”: an organization applies; platform staff review it."""
    form = ApplicationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_bot():
            request.session[SESSION_APPLIED] = ""
            return redirect("organizers:start_thanks")
        # Count before validating, so a flood of bad posts is throttled too.
        if _over_limit(request, request.POST.get("contact_email", "")):
            form.add_error(
                None,
                _("Too many applications from here. Please try again in an hour."),
            )
            status = 429
        elif form.is_valid():
            services.application_submit(
                organization_name=form.cleaned_data["organization_name"],
                contact_name=form.cleaned_data["contact_name"],
                contact_email=form.cleaned_data["contact_email"],
                website=form.cleaned_data["website"],
                about=form.cleaned_data["about"],
            )
            request.session[SESSION_APPLIED] = form.cleaned_data["contact_email"]
            return redirect("organizers:start_thanks")
        else:
            status = 400
    return render(request, "organizers/start.html", {"form": form}, status=status)


def start_thanks(request):
    return render(
        request,
        "organizers/start_thanks.html",
        {"email": request.session.get(SESSION_APPLIED, "")},
    )


def invitation(request, token: str):
    """Open an organizer invitation: set a password (new account) or join with the account that
    is logged in with the invited address."""
    try:
        invite = services.invitation_for_token(token)
    except services.InvitationInvalid as exc:
        return render(request, "organizers/invitation.html", {"problem": str(exc)}, status=404)
    user = request.user if request.user.is_authenticated else None
    existing = services.invitation_has_account(invite)
    form = AcceptInvitationForm(request.POST or None) if not user and not existing else None
    problem = ""
    if request.method == "POST" and (user is not None or (form is not None and form.is_valid())):
        try:
            member = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"] if form else None,
                user=user,
            )
        except services.InvitationInvalid as exc:
            problem = str(exc)
        else:
            if user is None:
                login(request, member, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("admin:index")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "organizers/invitation.html",
        {
            "invite": invite,
            "form": form,
            "existing": existing and user is None,
            "wrong_user": user is not None and user.email.lower() != invite.email,
            "problem": problem,
        },
        status=status,
    )
