from django.urls import path

from organizers import views

app_name = "organizers"

urlpatterns = [
    path("start/", views.start, name="start"),
    path("start/thanks/", views.start_thanks, name="start_thanks"),
    path("organizers/invitation/<str:token>/", views.invitation, name="invitation"),
]
