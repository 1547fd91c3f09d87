"""Create the "Organizers" and "Platform staff" groups with their model permissions.

An organizer is made by adding a staff user to the Organizers group and to an Organization's
members; the admin then limits them to that organization's campaigns.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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
STAFF_MODELS = (
    "campaign",
    "section",
    "tier",
    "coalitionmember",
    "newslink",
    "organization",
    "issuearea",
    "campaignevent",
)


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure ours exist now.
    app_config = apps.get_app_config("campaigns")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(model, actions):
        codenames = [f"{action}_{model}" for action in actions]
        return Permission.objects.filter(
            content_type__app_label="campaigns", codename__in=codenames
        )

    organizers, _ = Group.objects.get_or_create(name=ORGANIZERS)
    for model, actions in ORGANIZER_PERMS.items():
        organizers.permissions.add(*perms(model, actions))

    staff, _ = Group.objects.get_or_create(name=PLATFORM_STAFF)
    for model in STAFF_MODELS:
        staff.permissions.add(*perms(model, ("view", "add", "change", "delete")))


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[ORGANIZERS, PLATFORM_STAFF]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_image_renditions_colour_check"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
