from django.urls import path, re_path

from pledges import views, views_payment, webhooks

app_name = "pledges"

urlpatterns = [
    # Ally sign-on (`support/ally/`) belongs to the supporters app, included before this one;
    # anything else that is not advocate or champion is a 404 from the view.
    re_path(
        r"^c/(?P<slug>[-a-zA-Z0-9_]+)/support/(?P<tier>[-a-zA-Z0-9_]+)/$",
        views.pledge_page,
        name="pledge",
    ),
    path("pledges/<str:token>/", views.pledge_detail, name="detail"),
    path("pledges/<str:token>/card/", views.card_step, name="card"),
    path("pledges/<str:token>/card/intent/", views.card_intent, name="card_intent"),
    path("pledges/<str:token>/card/complete/", views.card_complete, name="card_complete"),
    path("pledges/<str:token>/cancel/", views.pledge_cancel_view, name="cancel"),
    # Settlement's on-session payment pages (pledges/views_payment.py).
    path("pledges/<str:token>/confirm/", views_payment.payment_confirm, name="payment_confirm"),
    path("pledges/<str:token>/new-card/", views_payment.payment_new_card, name="payment_new_card"),
    path("stripe/webhook/", webhooks.stripe_webhook, name="webhook"),
]
