"""The product's URLs plus one constant view: the baseline the page benchmark compares with."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns


def constant(request):
    return HttpResponse("ok", content_type="text/plain")


# The product's list spliced in, not included: i18n_patterns may only sit in a root URLconf.
urlpatterns = [path("bench/constant", constant), *product_urlpatterns]
