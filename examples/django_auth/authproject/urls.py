from accounts.views import home
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),  # Django's own
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("pywry/", include("pywry.adapters.django.urls")),
]
