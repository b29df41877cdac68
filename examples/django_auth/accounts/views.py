from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .widgets import admin_only, whoami


@login_required  # Django's own rule for the host page; pywry checks its routes by itself
def home(request):
    return render(request, "accounts/home.html", {"whoami": whoami, "admin_only": admin_only})
