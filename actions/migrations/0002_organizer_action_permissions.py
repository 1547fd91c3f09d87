"""Let the "Organizers" and "Platform staff" groups manage take-action content in the admin (the
admin itself narrows organizers to their own organization's campaigns). Outcomes and completions
are records of what supporters did: viewable, never editable by hand."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDIT = ("view", "add", "change", "delete")
PERMS = {
    "action": EDIT,
    "calltarget": EDIT,
    "actionlink": EDIT,
    "calloutcome": ("view",),
    "actioncompletion": ("view",),
}
GROUPS = ("Organizers", "Platform staff")


def grant(apps, schema_editor):
    app_config = apps.get_app_config("actions")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"{verb}_{model}" for model, verbs in PERMS.items() for verb in verbs]
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="actions", codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="actions"))


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0001_actions_targets_outcomes_completions_links"),
        ("campaigns", "0004_organizer_and_staff_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
