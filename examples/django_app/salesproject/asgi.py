import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesproject.settings")
django_application = get_asgi_application()

from pywry.adapters.django.asgi import application as with_pywry  # noqa: E402

application = with_pywry(django_application)  # adds pywry's WebSockets under ASGI
