from dashboard.views import home
from django.urls import include, path

urlpatterns = [
    path("", home, name="home"),
    path("pywry/", include("pywry.adapters.django.urls")),
]
