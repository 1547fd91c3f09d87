"""The two admin roles and their model permissions.

An organizer is a staff user in the "Organizers" group who is a member of an Organization; the
admin then limits them to that organization's campaigns. "Platform staff" see and approve every
campaign. Used by the data migration and by `seed_demo` (which repairs the groups if deleted).
"""

from __future__ import annotations

ORGANIZERS = "Organizers"
PLATFORM_STAFF = "Platform staff"

ORGANIZER_PERMS = {
    "campaign": ("view", "add", "change", "delete"),
    "section": ("view", "add", "change", "delete"),
    "tier": ("view", "change"),
    "coalitionmember": ("view", "add", "change", "delete"),
    "newslink": ("view", "add", "change", "delete"),
    "organization": ("view", "change"),
    "issuearea": ("view",),
    "campaignevent": ("view",),
}
STAFF_PERMS = {model: ("view", "add", "change", "delete") for model in ORGANIZER_PERMS}


def roles_ensure(Group, Permission) -> None:  # noqa: N803 — model classes, real or historical
    """Create both groups if missing and give them (at least) their campaigns permissions."""
    for name, perms in ((ORGANIZERS, ORGANIZER_PERMS), (PLATFORM_STAFF, STAFF_PERMS)):
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [f"{action}_{model}" for model, actions in perms.items() for action in actions]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames)
        )
