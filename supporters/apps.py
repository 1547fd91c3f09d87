from django.apps import AppConfig


class SupportersConfig(AppConfig):
    name = "supporters"
    verbose_name = "Supporters"

    def ready(self):
        from supporters import checks, signals  # noqa: F401 — registers checks and receivers
