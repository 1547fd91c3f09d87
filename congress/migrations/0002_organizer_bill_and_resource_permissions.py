"""Let the "Organizers" and "Platform staff" groups manage bills and resources in the admin (the
admin narrows organizers to their own organization's campaigns) and read the loaded members of
Congress (to choose bill sponsors). The public data themselves are loaded by a command."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDIT = ("view", "add", "change", "delete")
PERMS = {
    "bill": EDIT,
    "billstatuschange": ("view",),
    "campaignresource": EDIT,
    "legislator": ("view",),
    "zipdistricts": ("view",),
    "congressdataload": ("view",),
}
GROUPS = ("Organizers", "Platform staff")


def grant(apps, schema_editor):
    app_config = apps.get_app_config("congress")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"{verb}_{model}" for model, verbs in PERMS.items() for verb in verbs]
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="congress", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="congress"))


class Migration(migrations.Migration):
    dependencies = [
        ("congress", "0001_legislators_zips_bills_resources"),
        ("campaigns", "0004_organizer_and_staff_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
