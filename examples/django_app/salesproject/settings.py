"""A minimal Django project hosting the pywry dashboard (no database needed)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "pywry.adapters.django",  # {% load pywry_tags %}, and PYWRY read at start-up
    "dashboard",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # pywry's posts are exempt: token + origin
]
ROOT_URLCONF = "salesproject.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
WSGI_APPLICATION = "salesproject.wsgi.application"
DATABASES = {}
USE_TZ = True

# pywry settings: the "server" and "deploy" sections beat PYWRY_SERVER__* / PYWRY_DEPLOY__*;
# the other keys are the adapter options every framework accepts.
PYWRY = {
    "server": {"theme": "light"},
}
