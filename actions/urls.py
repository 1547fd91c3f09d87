from django.urls import path

from actions import views

app_name = "actions"

urlpatterns = [
    path("c/<slug:slug>/act/", views.action_list, name="list"),
    path("c/<slug:slug>/act/<int:pk>/", views.action_detail, name="detail"),
    path("c/<slug:slug>/act/<int:pk>/who/", views.actor_identify, name="identify"),
    path("c/<slug:slug>/act/<int:pk>/not-me/", views.actor_forget, name="forget"),
    path(
        "c/<slug:slug>/act/<int:pk>/continue/<str:token>/",
        views.actor_continue,
        name="actor_continue",
    ),
    path("c/<slug:slug>/act/<int:pk>/call/", views.call_report, name="call_report"),
    path(
        "c/<slug:slug>/act/<int:pk>/call/member/",
        views.call_report_member,
        name="call_report_member",
    ),
    path("c/<slug:slug>/act/<int:pk>/sent/", views.email_sent, name="email_sent"),
    path("c/<slug:slug>/act/<int:pk>/rsvp/", views.event_rsvp, name="rsvp"),
    path("c/<slug:slug>/act/<int:pk>/event.ics", views.event_calendar, name="ics"),
    path("c/<slug:slug>/act/<int:pk>/sign/", views.petition_sign, name="petition_sign"),
    path(
        "c/<slug:slug>/act/<int:pk>/check-email/",
        views.petition_check_email,
        name="petition_check_email",
    ),
    path(
        "c/<slug:slug>/act/<int:pk>/confirm/<str:token>/",
        views.petition_confirm,
        name="petition_confirm",
    ),
]
