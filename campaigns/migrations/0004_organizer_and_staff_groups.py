"""Create the "Organizers" and "Platform staff" groups with their model permissions.

An organizer is made by adding a staff user to the Organizers group and to an Organization's
members; the admin then limits them to that organization's campaigns.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from campaigns.roles import ORGANIZERS, PLATFORM_STAFF, roles_ensure


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure ours exist now.
    app_config = apps.get_app_config("campaigns")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    roles_ensure(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


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
