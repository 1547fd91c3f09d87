from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from django.views.static import serve

from config import health, locale, metrics

admin.site.site_header = "Rallyround"
admin.site.site_title = "Rallyround admin"
admin.site.index_title = "Campaigns, supporters and pledges"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),  # Prometheus; staff or METRICS_TOKEN
    path("admin/", include("config.admin")),  # throttled login, guarded "view on site"
    path("admin/", admin.site.urls),
    path("", include("api.urls")),  # /api/v1/ (OSDI) and /api/docs/: never prefixed
    path("language/<str:language>/", locale.language_switch, name="language_switch"),
]
# The public pages: English at /c/<slug>/, Spanish at /es/c/<slug>/ (config/locale.py).
# The Stripe webhook (pledges.urls) answers under both; the signature, not the URL, matters.
urlpatterns += i18n_patterns(
    # The interface strings static/js/*.js use, in the page's language (window.gettext).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("allauth.urls")),
    path("", include("supporters.urls")),
    path("", include("pledges.urls")),
    path("", include("outreach.urls")),
    path("", include("actions.urls")),
    path("", include("congress.urls")),
    path("", include("organizers.urls")),
    path("", include("campaigns.urls")),
    prefix_default_language=False,
)

if not settings.PRODUCTION:
    # Uploaded images; production serves MEDIA_ROOT from the front web server or object storage.
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
