import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authproject.settings")
django_application = get_asgi_application()

from pywry.adapters.django.asgi import application as with_pywry  # noqa: E402

# adds pywry's WebSockets; a socket's user is found from the Django session cookie
application = with_pywry(django_application)
