"""The two admin roles and their model permissions.

An organizer is a staff user in the "Organizers" group who is a member of an Organization; the
admin then limits them to that organization's campaigns. "Platform staff" (superusers, or staff
users in the "Platform staff" group) see every organization's data, approve campaigns, and make
the money decisions (approve or reject collection, refunds, charging again, writing off).

The permissions of both groups, for every app, live here: the data migrations grant them app by
app and `seed_demo` repairs them (`roles_ensure`). The admin screens check the role itself
(`campaigns.selectors.user_is_platform_staff`) as well as these model permissions, so an
organizer who somehow got a money permission still cannot use it.
"""

from __future__ import annotations

ORGANIZERS = "Organizers"
PLATFORM_STAFF = "Platform staff"

EDIT = ("view", "add", "change", "delete")

ORGANIZER_PERMS = {
    "campaign": EDIT,
    "section": EDIT,
    "tier": ("view", "change"),
    "coalitionmember": EDIT,
    "newslink": EDIT,
    "organization": ("view", "change"),
    "issuearea": ("view",),
    "campaignevent": ("view",),
}
STAFF_PERMS = {model: EDIT for model in ORGANIZER_PERMS}

# Take-action content and campaign updates: both roles edit them (the admin narrows organizers
# to their own campaigns). Outcomes, completions and deliveries are records: view only.
_ACTIONS_PERMS = {
    "action": EDIT,
    "calltarget": EDIT,
    "actionlink": EDIT,
    "calloutcome": ("view",),
    "actioncompletion": ("view",),
}
_OUTREACH_PERMS = {"campaignupdate": EDIT, "updatedelivery": ("view",)}
# Bills and resources are campaign content; members of Congress and ZIP codes are public data
# loaded by `manage.py congress_load` (view only, to choose bill sponsors).
_CONGRESS_PERMS = {
    "bill": EDIT,
    "billstatuschange": ("view",),
    "campaignresource": EDIT,
    "legislator": ("view",),
    "zipdistricts": ("view",),
    "congressdataload": ("view",),
}

# Permissions by app label, per group. Organizers reach supporters and pledges through their
# organization membership (read-only screens), not through model permissions; settlements are
# platform staff's alone.
GROUP_PERMS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    ORGANIZERS: {
        "campaigns": ORGANIZER_PERMS,
        "actions": _ACTIONS_PERMS,
        "outreach": _OUTREACH_PERMS,
        "congress": _CONGRESS_PERMS,
    },
    PLATFORM_STAFF: {
        "campaigns": STAFF_PERMS,
        "actions": _ACTIONS_PERMS,
        "outreach": _OUTREACH_PERMS,
        "congress": _CONGRESS_PERMS,
        "supporters": {"supporter": ("view", "change"), "milestone": ("view",)},
        "pledges": {
            "campaignsettlement": ("view", "change"),
            "pledge": ("view",),
            "pledgeevent": ("view",),
            "paymentattempt": ("view",),
            "refund": ("view",),
            "stripeevent": ("view",),
        },
    },
}


def roles_ensure(Group, Permission, *, app_labels=None) -> None:  # noqa: N803 — model classes
    """Create both groups if missing and give them (at least) their permissions.

    `Group` and `Permission` are the real or historical models. `app_labels` limits the grant to
    those apps (a data migration grants its own app's); by default every app's. Permissions
    whose content types do not exist yet are skipped: run it again once they do.
    """
    for name, by_app in GROUP_PERMS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, perms in by_app.items():
            if app_labels is not None and app_label not in app_labels:
                continue
            codenames = [f"{verb}_{model}" for model, verbs in perms.items() for verb in verbs]
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )
