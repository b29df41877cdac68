"""A Django project whose users sign in with Django's own LoginView; pywry takes them as is.

pywry's routes see `request.user` (WSGI and ASGI pages, streams and posts) or, for WebSockets
under the ASGI wrapper, the user of the Django session cookie: the user name is the pywry user
id, group names are roles, and superusers are admins.
"""

import os
from pathlib import Path

# Access control on unless the environment says otherwise: every pywry route needs a signed-in
# user. A deployment would export PYWRY_DEPLOY__AUTH_ENABLED=true instead.
os.environ.setdefault("PYWRY_DEPLOY__AUTH_ENABLED", "true")

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "pywry.adapters.django",  # {% load pywry_tags %}, and PYWRY read at start-up
    "accounts",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # pywry's posts are exempt: token + origin
    "django.contrib.auth.middleware.AuthenticationMiddleware",  # request.user, read by pywry
]
ROOT_URLCONF = "authproject.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
WSGI_APPLICATION = "authproject.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB_PATH", str(BASE_DIR / "demo.db")),  # *.db: git-ignored
    }
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
USE_TZ = True
