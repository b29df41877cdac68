from django.shortcuts import render

from .widgets import widget


def home(request):
    """The host's own page; the template embeds the dashboard with {% pywry_widget %}."""
    return render(request, "dashboard/home.html", {"widget": widget})
