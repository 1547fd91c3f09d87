"""Give the "Platform staff" group the supporters permissions its screens need: every
organization's supporters (list, CSV export, chart) and milestones. Organizers get none of
these: their screens follow their organization membership. The permissions themselves are
listed in campaigns/roles.py (which seed_demo also uses)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from campaigns.roles import GROUP_PERMS, PLATFORM_STAFF, roles_ensure


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure ours exist now.
    app_config = apps.get_app_config("supporters")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    roles_ensure(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), app_labels={"supporters"}
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = GROUP_PERMS[PLATFORM_STAFF]["supporters"]
    codenames = [f"{verb}_{model}" for model, verbs in perms.items() for verb in verbs]
    for group in Group.objects.filter(name=PLATFORM_STAFF):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="supporters", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("supporters", "0001_initial"),
        ("campaigns", "0004_organizer_and_staff_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
