from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from api import views

app_name = "api"

urlpatterns = [
    path("api/v1/", views.EntryPoint.as_view(), name="entry"),
    path("api/v1/people/", views.PersonList.as_view(), name="person-list"),
    path("api/v1/people/<int:pk>/", views.PersonDetail.as_view(), name="person-detail"),
    path(
        "api/v1/fundraising_pages/",
        views.FundraisingPageList.as_view(),
        name="fundraising_page-list",
    ),
    path(
        "api/v1/fundraising_pages/<int:pk>/",
        views.FundraisingPageDetail.as_view(),
        name="fundraising_page-detail",
    ),
    path(
        "api/v1/fundraising_pages/<int:pk>/donations/",
        views.DonationList.as_view(),
        name="fundraising_page-donations",
    ),
    path(
        "api/v1/fundraising_pages/<int:pk>/person_signup/",
        views.PersonSignup.as_view(),
        name="fundraising_page-person-signup",
    ),
    path("api/v1/donations/", views.DonationList.as_view(), name="donation-list"),
    path("api/v1/donations/<int:pk>/", views.DonationDetail.as_view(), name="donation-detail"),
    path("api/v1/petitions/", views.PetitionList.as_view(), name="petition-list"),
    path("api/v1/petitions/<int:pk>/", views.PetitionDetail.as_view(), name="petition-detail"),
    path(
        "api/v1/petitions/<int:pk>/signatures/",
        views.SignatureList.as_view(),
        name="petition-signatures",
    ),
    path(
        "api/v1/petitions/<int:pk>/signatures/<int:item>/",
        views.SignatureDetail.as_view(),
        name="petition-signature",
    ),
    path("api/v1/events/", views.EventList.as_view(), name="event-list"),
    path("api/v1/events/<int:pk>/", views.EventDetail.as_view(), name="event-detail"),
    path(
        "api/v1/events/<int:pk>/attendances/",
        views.AttendanceList.as_view(),
        name="event-attendances",
    ),
    path(
        "api/v1/events/<int:pk>/attendances/<int:item>/",
        views.AttendanceDetail.as_view(),
        name="event-attendance",
    ),
    path(
        "api/v1/advocacy_campaigns/",
        views.AdvocacyCampaignList.as_view(),
        name="advocacy_campaign-list",
    ),
    path(
        "api/v1/advocacy_campaigns/<int:pk>/",
        views.AdvocacyCampaignDetail.as_view(),
        name="advocacy_campaign-detail",
    ),
    path(
        "api/v1/advocacy_campaigns/<int:pk>/outreaches/",
        views.OutreachList.as_view(),
        name="advocacy_campaign-outreaches",
    ),
    path("api/schema/", SpectacularJSONAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
