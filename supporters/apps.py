from django.apps import AppConfig


class SupportersConfig(AppConfig):
    name = "supporters"
    verbose_name = "Supporters"

    def ready(self):
        from supporters import signals  # noqa: F401 — registers the receivers
