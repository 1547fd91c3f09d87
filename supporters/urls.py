from django.urls import path

from supporters import views

app_name = "supporters"

urlpatterns = [
    path("c/<slug:slug>/support/ally/", views.ally_sign_on, name="ally"),
    path(
        "c/<slug:slug>/support/ally/check-email/", views.ally_check_email, name="ally_check_email"
    ),
    path(
        "c/<slug:slug>/support/ally/confirm/<str:token>/", views.ally_confirm, name="ally_confirm"
    ),
    path("c/<slug:slug>/support/ally/thanks/", views.ally_thanks, name="ally_thanks"),
    path("c/<slug:slug>/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("me/", views.dashboard, name="dashboard"),
    path("me/supporting/<int:pk>/preferences/", views.preferences, name="preferences"),
    path("me/supporting/<int:pk>/leave/", views.leave, name="leave"),
    path("me/my-data.json", views.export, name="export"),
    path("me/delete/", views.delete_account, name="delete_account"),
]
