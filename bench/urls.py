"""The product's URLs plus one constant view: the baseline the page benchmark compares with."""

from django.http import HttpResponse
from django.urls import include, path


def constant(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/constant", constant), path("", include("config.urls"))]
