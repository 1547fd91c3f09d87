from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.discover, name="discover"),
    path("c/<slug:slug>/", views.detail, name="detail"),
]
