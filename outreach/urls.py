from django.urls import path

from outreach import views

app_name = "outreach"

urlpatterns = [
    path("c/<slug:slug>/updates/", views.updates_list, name="updates"),
    path("c/<slug:slug>/updates/<int:pk>/", views.update_detail, name="update_detail"),
    path(
        "c/<slug:slug>/updates/unsubscribe/<str:token>/",
        views.unsubscribe,
        name="unsubscribe",
    ),
    path("c/<slug:slug>/share.png", views.share_image, name="share_image"),
    path("c/<slug:slug>/embed/", views.embed, name="embed"),
    path("c/<slug:slug>/stats.json", views.stats_json, name="stats"),
    path("me/share/<slug:slug>/", views.share_kit, name="share_kit"),
    path("me/share/<slug:slug>/<str:kind>.png", views.share_graphic, name="share_graphic"),
    path("me/badge/<slug:slug>.png", views.badge_png, name="badge_png"),
    path("me/badge/<slug:slug>/", views.badge_page, name="badge"),
]
