"""A one-module Django project: CSRF middleware on, ALLOWED_HOSTS set, pywry included."""

from __future__ import annotations

import os

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="host-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost", ".example.test"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "pywry.adapters.django"],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
        DATABASES={},
        USE_TZ=True,
        PYWRY={"server": {"max_payload_size": os.environ.get("HOST_PAYLOAD", "64K")}},
    )
    django.setup()

from django.http import HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import include, path  # noqa: E402

from pywry.adapters.django import urls as pywry_urls  # noqa: E402
from tests.apps.frameworks.widgets import OPTIONS, visit_page  # noqa: E402


def form(request):
    return HttpResponse("accepted")


def whole_page(request):
    from pywry.inline import get_widget_html  # noqa: PLC0415

    return HttpResponse(get_widget_html("board"))


def embed(request):
    tpl = engines["django"].from_string(
        "{% load pywry_tags %}<main>{% pywry_widget 'board' %}</main>"
    )
    return HttpResponse(tpl.render({}, request))


def visit(request):
    return HttpResponse(visit_page())


urlpatterns = [
    path("host/visit", visit),
    path("host/form", form),
    path("host/embed", embed),
    path("host/page", whole_page),
    path("pywry/", include(pywry_urls.build(**OPTIONS))),
]

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from pywry.adapters.django.asgi import application as with_pywry  # noqa: E402

application = get_wsgi_application()
asgi_application = with_pywry(get_asgi_application())
