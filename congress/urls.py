from django.urls import path

from congress import views

app_name = "congress"

urlpatterns = [
    path("c/<slug:slug>/resources/", views.campaign_resources, name="resources"),
]
