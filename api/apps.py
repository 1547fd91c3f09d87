from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self) -> None:
        from api.events import event_types_forget

        for name, signal in (("save", post_save), ("delete", post_delete)):
            signal.connect(
                event_types_forget, sender="api.WebhookEndpoint", dispatch_uid=f"forget-{name}"
            )
