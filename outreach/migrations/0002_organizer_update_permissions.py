"""Let the "Organizers" and "Platform staff" groups write campaign updates in the admin (the
admin itself narrows organizers to their own organization's campaigns)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_PERMS = {
    "Organizers": {
        "campaignupdate": ("view", "add", "change", "delete"),
        "updatedelivery": ("view",),
    },
    "Platform staff": {
        "campaignupdate": ("view", "add", "change", "delete"),
        "updatedelivery": ("view",),
    },
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("outreach")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, models in GROUP_PERMS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for model, actions in models.items():
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="outreach",
                    codename__in=[f"{action}_{model}" for action in actions],
                )
            )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=list(GROUP_PERMS)):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="outreach")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0001_campaign_updates_and_deliveries"),
        ("campaigns", "0004_organizer_and_staff_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
