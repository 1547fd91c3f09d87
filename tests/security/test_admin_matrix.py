"""Every admin page, for every role: who gets in, and that no organization sees another's rows.

Data-driven from `admin.site._registry`: a ModelAdmin added later is covered automatically for
its list and add pages, and this test fails (naming the model) until it is told how that model
relates to organizations (ORGANIZER_ACCESS) and how to pick an object of it (OBJECTS).
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import reverse

from tests.security.conftest import ROLES

pytestmark = pytest.mark.django_db

# How organizers relate to each model's rows:
#   own    — an organizer sees their own organization's rows and never another's
#   shared — reference data every organizer may read (not owned by an organization)
#   none   — organizers may not open it at all (platform staff only)
ORGANIZER_ACCESS = {
    "campaigns.campaign": "own",
    "campaigns.organization": "own",
    "campaigns.issuearea": "shared",
    "supporters.supporter": "own",
    "supporters.milestone": "own",
    "supporters.user": "none",
    "auth.group": "none",
    "account.emailaddress": "none",
    "pledges.pledge": "own",
    "pledges.stripeevent": "none",
    "pledges.campaignsettlement": "none",
    "actions.action": "own",
    "actions.actioncompletion": "own",
    "outreach.campaignupdate": "own",
    "api.apikey": "own",
    "api.webhookendpoint": "own",
    "organizers.organizationapplication": "none",
    "congress.bill": "own",
    "congress.campaignresource": "own",
    "congress.legislator": "shared",
    "congress.zipdistricts": "shared",
    "congress.congressdataload": "shared",
}


def _email_address(world, side):
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.get(email=world.users["supporter_a"].email)


def _group(world, side):
    from django.contrib.auth.models import Group

    return Group.objects.get(name="Organizers")


def _api_key(world, side):
    from api.models import ApiKey
    from api.services import api_key_create

    org = world.side(side).org
    key = ApiKey.objects.filter(organization=org).first()
    return key or api_key_create(organization=org, name=f"{org.name} CRM", scope="read")[0]


def _webhook_endpoint(world, side):
    from api.models import WebhookEndpoint
    from api.webhooks import webhook_endpoint_save

    org = world.side(side).org
    return WebhookEndpoint.objects.filter(organization=org).first() or webhook_endpoint_save(
        organization=org, url=f"https://{side}.example/hook", description="", events=[]
    )


def _settlement(world, side):
    from pledges.models import CampaignSettlement

    return CampaignSettlement.objects.get(pk=world.side(side).settling.pk)


def _application(world, side):
    from organizers.models import OrganizationApplication

    return OrganizationApplication.objects.get_or_create(
        contact_email="applicant@example.org",
        defaults={
            "organization_name": "Applicants United",
            "contact_name": "Applicant",
            "about": "A campaign about fair bus fares for everyone.",
        },
    )[0]


def _bill(world, side):
    import datetime as dt

    from congress.models import Bill

    campaign = world.side(side).campaign
    return Bill.objects.get_or_create(
        campaign=campaign,
        number="H.R. 6128",
        defaults={
            "title": f"{world.side(side).org.name} bill",
            "chamber": "house",
            "status_date": dt.date(2026, 6, 1),
            "what_it_would_do": "Keeps families together.",
        },
    )[0]


def _resource(world, side):
    from congress.models import CampaignResource

    return CampaignResource.objects.get_or_create(
        campaign=world.side(side).campaign,
        title=f"{world.side(side).org.name} hotline",
        defaults={"phone": "1-888-272-1913"},
    )[0]


def _legislator():
    from congress.models import Legislator

    return Legislator.objects.get_or_create(
        bioguide="P000145",
        defaults={
            "chamber": "senate",
            "state": "CA",
            "name": "Alex Padilla",
            "last_name": "Padilla",
            "phone": "202-224-3553",
        },
    )[0]


def _zip_districts():
    from congress.models import ZipDistricts

    return ZipDistricts.objects.get_or_create(zip_code="94609", defaults={"districts": "CA-12"})[0]


def _congress_load():
    from congress.models import CongressDataLoad

    return CongressDataLoad.objects.first() or CongressDataLoad.objects.create(
        source="test", sha256="0" * 64, legislators=1, zip_codes=1
    )


# An object of each model belonging to organization "a" or "b" (the same object for both when
# the model belongs to no organization).
OBJECTS = {
    "campaigns.campaign": lambda w, s: w.side(s).campaign,
    "campaigns.organization": lambda w, s: w.side(s).org,
    "campaigns.issuearea": lambda w, s: w.issue_area,
    "supporters.supporter": lambda w, s: w.side(s).supporter,
    "supporters.milestone": lambda w, s: w.side(s).milestone,
    "supporters.user": lambda w, s: w.users["supporter_a"],
    "auth.group": _group,
    "account.emailaddress": _email_address,
    "pledges.pledge": lambda w, s: w.side(s).pledge,
    "pledges.stripeevent": lambda w, s: w.stripe_event,
    "pledges.campaignsettlement": _settlement,
    "actions.action": lambda w, s: w.side(s).action,
    "actions.actioncompletion": lambda w, s: w.side(s).completion,
    "outreach.campaignupdate": lambda w, s: w.side(s).update,
    "api.apikey": lambda w, s: _api_key(w, s),
    "api.webhookendpoint": lambda w, s: _webhook_endpoint(w, s),
    "organizers.organizationapplication": _application,
    "congress.bill": lambda w, s: _bill(w, s),
    "congress.campaignresource": lambda w, s: _resource(w, s),
    "congress.legislator": lambda w, s: _legislator(),
    "congress.zipdistricts": lambda w, s: _zip_districts(),
    "congress.congressdataload": lambda w, s: _congress_load(),
}

# Account and permission screens stay with superusers: a "Platform staff" member who could edit
# users or groups could make themselves a superuser.
SUPERUSER_ONLY = {"supporters.user", "auth.group", "account.emailaddress"}
SUPERUSER_ONLY_APPS = {"auth", "account"}

# Custom admin views that only platform staff may use (money and publishing decisions).
STAFF_ONLY_VIEWS = {
    "campaigns_campaign_approve",
    "campaigns_campaign_send_back",
    "campaigns_campaign_extend_deadline",
    "pledges_campaignsettlement_approve",
    "pledges_campaignsettlement_reject",
    "pledges_campaignsettlement_csv",
    "pledges_campaignsettlement_pledge",
    "organizers_organizationapplication_approve",
    "organizers_organizationapplication_decline",
}
# Custom admin views that answer only POST (a GET is 405 for everyone who gets that far).
POST_ONLY_VIEWS = {
    "campaigns_campaign_submit",
    "campaigns_campaign_approve",
    "organizers_organizationapplication_approve",
}
STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")


def _label(model) -> str:
    return model._meta.label_lower


def _registry():
    return sorted(admin.site._registry.items(), key=lambda item: _label(item[0]))


def test_every_registered_admin_model_has_an_expectation():
    labels = {_label(model) for model in admin.site._registry}
    missing_access = sorted(labels - ORGANIZER_ACCESS.keys())
    missing_object = sorted(labels - OBJECTS.keys())
    assert not missing_access, f"add these models to ORGANIZER_ACCESS: {missing_access}"
    assert not missing_object, f"tell OBJECTS how to pick an object of: {missing_object}"


def _custom_views(model_admin):
    info = (model_admin.model._meta.app_label, model_admin.model._meta.model_name)
    standard = {"{}_{}_{}".format(*info, view) for view in STANDARD_VIEWS}
    for pattern in model_admin.get_urls():
        if pattern.name and pattern.name not in standard:
            yield pattern.name, sorted(pattern.pattern.converters)


def _custom_kwargs(name: str, params: list[str], obj) -> dict:
    from campaigns.models import Campaign
    from pledges.models import Pledge

    campaign_id = obj.pk if isinstance(obj, Campaign) else getattr(obj, "campaign_id", None)
    kwargs = {}
    for param in params:
        if param in ("object_id", "id"):
            kwargs[param] = obj.pk
        elif param == "campaign_id" and campaign_id:
            kwargs[param] = campaign_id
        elif param == "pledge_id" and campaign_id:
            kwargs[param] = Pledge.objects.filter(campaign_id=campaign_id).first().pk
        else:
            pytest.fail(f"admin:{name}: do not know how to fill <{param}> from {obj!r}")
    return kwargs


def admin_urls(world):
    """(url, kind, model label, view name, side) for every admin page of the world: lists and
    add pages; change, delete and history of each organization's object; custom views."""
    urls = [(reverse("admin:index"), "index", "", "index", None)]
    for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
        url = reverse("admin:app_list", args=[app_label])
        urls.append((url, "app_list", app_label, "app_list", None))
    for model, model_admin in _registry():
        label = _label(model)
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(
            (reverse("admin:{}_{}_changelist".format(*info)), "changelist", label, "", None)
        )
        urls.append((reverse("admin:{}_{}_add".format(*info)), "add", label, "", None))
        if label not in OBJECTS:
            continue  # test_every_registered_admin_model_has_an_expectation names it
        for side in ("a", "b"):
            obj = OBJECTS[label](world, side)
            for view in ("change", "delete", "history"):
                url = reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[obj.pk])
                urls.append((url, view, label, view, side))
            for name, params in _custom_views(model_admin):
                if params:
                    url = reverse(f"admin:{name}", kwargs=_custom_kwargs(name, params, obj))
                    urls.append((url, "custom", label, name, side))
                elif side == "a":
                    urls.append((reverse(f"admin:{name}"), "custom", label, name, None))
    return urls


def _superuser_request(world):
    request = RequestFactory().get("/admin/")
    request.user = world.users["staff"]
    return request


def _staff_expected(world, kind, label, name, side) -> set[int]:
    """What platform staff get: every page the admin offers anyone, 403 where the ModelAdmin
    itself forbids the operation to everybody (read-only screens)."""
    if kind in ("index", "app_list"):
        return {200}
    if kind == "custom":
        return {405} if name in POST_ONLY_VIEWS else {200}
    model_admin = next(ma for m, ma in admin.site._registry.items() if _label(m) == label)
    request = _superuser_request(world)
    obj = OBJECTS[label](world, side) if side else None
    allowed = {
        "changelist": model_admin.has_view_or_change_permission(request),
        "add": model_admin.has_add_permission(request),
        "change": model_admin.has_view_or_change_permission(request, obj),
        "history": model_admin.has_view_or_change_permission(request, obj),
        "delete": model_admin.has_delete_permission(request, obj),
    }[kind]
    return {200} if allowed else {403}


def _platform_staff_expected(world, kind, label, name, side) -> set[int]:
    """A "Platform staff" member who is not a superuser gets what a superuser gets, except the
    account and permission screens."""
    if kind == "app_list" and label in SUPERUSER_ONLY_APPS:
        return {404}
    if label in SUPERUSER_ONLY:
        return {403}
    return _staff_expected(world, kind, label, name, side)


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _is_denial(response) -> bool:
    if response.status_code in (403, 404, 405):
        return True
    # Django's admin answers an id it cannot show with a redirect to the index ("doesn't exist").
    return response.status_code == 302 and response["Location"] == reverse("admin:index")


def _organizer_problem(world, role, url, kind, label, name, side, response) -> str | None:
    own = role[-1]
    other = world.side("b" if own == "a" else "a")
    status = response.status_code
    if status == 200:
        html = _body(response)
        leaked = [m for m in other.markers if m in html]
        if leaked:
            return f"shows the other organization's data {leaked}"
    access = ORGANIZER_ACCESS.get(label, "own")
    if kind in ("index", "app_list"):
        return None if status in (200, 404) else f"answered {status}"
    if kind == "custom" and name in STAFF_ONLY_VIEWS:
        return None if _is_denial(response) else f"staff-only view answered {status}"
    if access == "none":
        return None if status == 403 else f"answered {status}, expected 403 (staff only)"
    if side is not None and side != own and access == "own":
        return None if _is_denial(response) else f"another organization's page answered {status}"
    if kind in ("changelist", "change", "history"):
        return None if status == 200 else f"answered {status}, expected 200"
    if kind == "custom":
        expected = {405} if name in POST_ONLY_VIEWS else {200}
        return None if status in expected else f"answered {status}, expected {expected}"
    return None if status in (200, 403) else f"answered {status}"


@pytest.mark.parametrize("role", [*ROLES, "platform_staff"])
def test_admin_pages_answer_each_role_as_its_permissions_allow(world, role):
    """Anonymous and supporters are sent to the admin login; organizers see their own
    organization only (another organization's rows are a 403/404/"doesn't exist" and never
    appear in a list); staff-only views refuse organizers; platform staff open everything (the
    group's members all but the account and permission screens)."""
    client = world.client(role)
    problems = []
    for url, kind, label, name, side in admin_urls(world):
        response = client.get(url)
        if role in ("anonymous", "supporter_a", "supporter_b"):
            login = reverse("admin:login")
            if not (response.status_code == 302 and response["Location"].startswith(login)):
                problems.append(f"{url}: {response.status_code}, expected the admin login")
        elif role in ("staff", "platform_staff"):
            expect = _staff_expected if role == "staff" else _platform_staff_expected
            expected = expect(world, kind, label, name, side)
            if response.status_code not in expected:
                problems.append(f"{url}: {response.status_code}, expected {expected}")
        else:
            problem = _organizer_problem(world, role, url, kind, label, name, side, response)
            if problem:
                problems.append(f"{url}: {problem}")
    assert not problems, f"{role}:\n" + "\n".join(problems)


# --- writes that only platform staff may make ---------------------------------------------
def test_organizers_cannot_approve_reject_or_refund_a_settlement(world):
    from pledges.models import Refund

    organizer = world.client("organizer_a")
    settling, pledge = world.a.settling, world.a.settling_pledge
    base = f"/admin/pledges/campaignsettlement/{settling.pk}"
    answers = [
        organizer.post(f"{base}/approve/").status_code,
        organizer.post(f"{base}/reject/", {"reason": "No."}).status_code,
        organizer.post(
            f"{base}/pledge/{pledge.pk}/", {"amount": "50.00", "reason": "x", "number": 1}
        ).status_code,
    ]
    assert answers == [403, 403, 403]
    settling.refresh_from_db()
    pledge.refresh_from_db()
    assert settling.status == "settling"
    assert (pledge.status, pledge.refunded_cents) == ("paid", 0)
    assert not Refund.objects.filter(pledge=pledge).exists()


def test_organizers_cannot_publish_their_own_campaign(world):
    organizer = world.client("organizer_a")
    campaign = world.a.in_review
    assert organizer.post(f"/admin/campaigns/campaign/{campaign.pk}/approve/").status_code == 403
    organizer.post(
        "/admin/campaigns/campaign/",
        {"action": "approve_and_publish", "_selected_action": [campaign.pk], "index": "0"},
    )
    campaign.refresh_from_db()
    assert campaign.status == "in_review"


def test_organizers_change_nothing_of_another_organization_by_post(world):
    organizer = world.client("organizer_a")
    b = world.b
    posts = {
        f"/admin/campaigns/campaign/{b.campaign.pk}/change/": {"title": "Hijacked"},
        f"/admin/campaigns/campaign/{b.draft.pk}/submit/": {},
        f"/admin/campaigns/campaign/{b.in_review.pk}/send-back/": {"reason": "Hijacked"},
        f"/admin/campaigns/organization/{b.org.pk}/change/": {"name": "Hijacked"},
        f"/admin/actions/action/{b.action.pk}/delete/": {"post": "yes"},
        f"/admin/outreach/campaignupdate/{b.draft_update.pk}/change/": {
            "title": "Hijacked",
            "_publish": "1",
        },
    }
    for url, data in posts.items():
        response = organizer.post(url, data)
        assert _is_denial(response), f"{url} answered {response.status_code}"
    bulk = {
        "/admin/actions/action/": ("delete_selected", b.action.pk),
        "/admin/outreach/campaignupdate/": ("publish_selected", b.draft_update.pk),
        "/admin/campaigns/campaign/": ("submit_for_review", b.draft.pk),
    }
    for url, (action, pk) in bulk.items():
        organizer.post(
            url, {"action": action, "_selected_action": [pk], "index": "0", "post": "yes"}
        )
    # Nor can they add rows to another organization's campaign.
    from actions.models import Action
    from outreach.models import CampaignUpdate

    actions_before = Action.objects.filter(campaign=b.campaign).count()
    organizer.post(
        "/admin/actions/action/add/",
        {"campaign": b.campaign.pk, "kind": "learn", "title": "Planted", "position": 0},
    )
    organizer.post(
        "/admin/outreach/campaignupdate/add/",
        {"campaign": b.campaign.pk, "title": "Planted", "audience": "everyone", "body": "x"},
    )
    organizer.post(
        "/admin/campaigns/campaign/add/",
        {"organization": b.org.pk, "title": "Planted", "slug": "planted", "goal_cents": "100"},
    )
    assert Action.objects.filter(campaign=b.campaign).count() == actions_before
    assert not CampaignUpdate.objects.filter(title="Planted").exists()
    assert not b.org.campaigns.filter(title="Planted").exists()
    for obj in (b.campaign, b.draft, b.in_review, b.org, b.action, b.draft_update):
        before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
        obj.refresh_from_db()
        after = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
        assert after == before, f"{obj!r} changed"


# --- site-wide admin views ----------------------------------------------------------------
def _relations():
    """(source model, field name, remote model label) for every relation the admin's
    autocomplete view can be asked about."""
    from django.apps import apps

    registered = {_label(m) for m in admin.site._registry}
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if f.is_relation and f.concrete and f.remote_field is not None:
                remote = _label(f.remote_field.model)
                if remote in registered:
                    yield model, f.name, remote


@pytest.mark.parametrize("role", ["organizer_a", "organizer_b"])
def test_admin_autocomplete_never_offers_another_organizations_rows(world, role):
    client = world.client(role)
    other = world.side("b" if role.endswith("a") else "a")
    problems = []
    for model, field_name, remote in _relations():
        response = client.get(
            "/admin/autocomplete/",
            {
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": field_name,
                "term": "",
            },
        )
        if response.status_code != 200:
            continue
        results = response.json()["results"]
        text = " ".join(r["text"] for r in results)
        leaked = [m for m in other.markers if m in text]
        ids = {str(r["id"]) for r in results}
        if ORGANIZER_ACCESS.get(remote, "own") == "own" and remote in OBJECTS:
            theirs = str(OBJECTS[remote](world, "b" if role.endswith("a") else "a").pk)
            if theirs in ids:
                leaked.append(f"id {theirs}")
        if leaked:
            problems.append(f"{model._meta.label}.{field_name} → {remote}: {leaked}")
    assert not problems, "\n".join(problems)


def test_view_on_site_link_does_not_reveal_another_organizations_draft(world):
    from campaigns.models import Campaign

    content_type = ContentType.objects.get_for_model(Campaign)
    organizer = world.client("organizer_a")
    theirs = organizer.get(f"/admin/r/{content_type.pk}/{world.b.draft.pk}/")
    assert theirs.status_code == 404
    assert world.b.draft.slug not in theirs.get("Location", "")
    mine = organizer.get(f"/admin/r/{content_type.pk}/{world.a.draft.pk}/")
    assert mine.status_code == 302
    assert mine["Location"].endswith(f"/c/{world.a.draft.slug}/")


def test_an_organizer_of_no_organization_sees_no_organizations_rows(world):
    client = world.client("lone_organizer")
    problems = []
    for url, _kind, label, _name, side in admin_urls(world):
        response = client.get(url)
        if response.status_code == 200:
            html = _body(response)
            leaked = [m for m in world.a.markers + world.b.markers if m in html]
            if leaked:
                problems.append(f"{url}: shows {leaked}")
        access = ORGANIZER_ACCESS.get(label, "own")
        if side and access in ("own", "none") and not _is_denial(response):
            problems.append(f"{url}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_organizers_csv_export_action_never_includes_another_organizations_supporters(world):
    response = world.client("organizer_a").post(
        "/admin/supporters/supporter/",
        {
            "action": "export_selected_csv",
            "_selected_action": [world.a.supporter.pk, world.b.supporter.pk],
            "index": "0",
        },
    )
    assert response.status_code == 200
    csv_text = _body(response)
    assert world.a.supporter.email in csv_text
    assert world.b.supporter.email not in csv_text
