"""Platform staff by group (not superusers) do everything platform staff do: see every
organization's supporters and settlements and make the money decisions; organizers still do not.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

from campaigns.roles import GROUP_PERMS, PLATFORM_STAFF, roles_ensure
from pledges.models import Refund
from pledges.services.refunds import pledge_refund
from pledges.services.review import pledge_review_write_off
from pledges.services.settlement import campaign_approve_for_collection, campaign_reject_collection

pytestmark = pytest.mark.django_db


def test_platform_staff_member_sees_every_organizations_supporters(world):
    client = world.client("platform_staff")
    listing = client.get("/admin/supporters/supporter/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert world.a.supporter.email in html
    assert world.b.supporter.email in html
    milestones = client.get("/admin/supporters/milestone/")
    assert milestones.status_code == 200


def test_platform_staff_member_exports_any_campaigns_consenting_supporters(world):
    client = world.client("platform_staff")
    response = client.get(f"/admin/supporters/supporter/export/{world.b.campaign.pk}/")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert world.b.supporter.email in body  # consented to the organization
    assert world.a.supporter.email not in body  # another campaign's


def test_platform_staff_member_opens_settlements_and_approves_collection(world):
    client = world.client("platform_staff")
    settling = world.a.settling
    assert client.get("/admin/pledges/campaignsettlement/").status_code == 200
    report = client.get(f"/admin/pledges/campaignsettlement/{settling.pk}/change/")
    assert report.status_code == 200
    assert settling.title in report.content.decode()
    response = client.post(f"/admin/pledges/campaignsettlement/{settling.pk}/approve/")
    assert response.status_code == 302
    settling.refresh_from_db()
    assert settling.status == "succeeded"
    assert settling.approved_for_collection_by == world.users["platform_staff"]


def test_platform_staff_member_rejects_collection_with_a_reason(world):
    client = world.client("platform_staff")
    settling = world.b.settling
    client.post(
        f"/admin/pledges/campaignsettlement/{settling.pk}/reject/", {"reason": "Misleading page."}
    )
    settling.refresh_from_db()
    assert settling.status == "failed"


def test_money_services_refuse_organizers_whatever_screen_calls_them(world):
    organizer = world.users["organizer_a"]
    settling, pledge = world.a.settling, world.a.settling_pledge
    with pytest.raises(PermissionDenied):
        campaign_approve_for_collection(campaign=settling, actor=organizer)
    with pytest.raises(PermissionDenied):
        campaign_reject_collection(campaign=settling, actor=organizer, reason="No.")
    with pytest.raises(PermissionDenied):
        pledge_refund(pledge=pledge, amount_cents=100, actor=organizer, reason="x")
    with pytest.raises(PermissionDenied):
        pledge_review_write_off(pledge=pledge, actor=organizer, reason="x")
    with pytest.raises(PermissionDenied):
        campaign_approve_for_collection(campaign=settling, actor=None)
    settling.refresh_from_db()
    pledge.refresh_from_db()
    assert settling.status == "settling"
    assert pledge.status == "paid"
    assert not Refund.objects.filter(pledge=pledge).exists()


def test_an_organizer_given_the_settlement_permission_by_hand_still_cannot_settle(world):
    organizer = world.users["organizer_a"]
    organizer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="pledges",
            codename__in=["view_campaignsettlement", "change_campaignsettlement"],
        )
    )
    client = world.client("organizer_a")
    settling = world.a.settling
    assert client.get("/admin/pledges/campaignsettlement/").status_code == 403
    assert client.post(f"/admin/pledges/campaignsettlement/{settling.pk}/approve/").status_code in (
        403,
        404,
    )
    settling.refresh_from_db()
    assert settling.status == "settling"


def test_roles_ensure_restores_the_platform_staff_groups_permissions(world):
    group = Group.objects.get(name=PLATFORM_STAFF)
    group.permissions.clear()
    roles_ensure(Group, Permission)
    granted = set(group.permissions.values_list("content_type__app_label", "codename").order_by())
    for app_label, perms in GROUP_PERMS[PLATFORM_STAFF].items():
        for model, verbs in perms.items():
            for verb in verbs:
                assert (app_label, f"{verb}_{model}") in granted
    assert ("pledges", "change_campaignsettlement") in granted
    assert ("supporters", "view_supporter") in granted
    assert not {codename for app, codename in granted if app in ("auth", "account")}
