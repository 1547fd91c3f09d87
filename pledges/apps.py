from django.apps import AppConfig


class PledgesConfig(AppConfig):
    name = "pledges"
    verbose_name = "Pledges and payments"

    def ready(self) -> None:
        # The settlement admin (approve/reject, report, refunds) registers itself with the admin
        # site; it lives in its own module so the pledge screens and it can grow apart.
        from pledges import admin_settlement  # noqa: F401
