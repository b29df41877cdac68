import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authproject.settings")
application = get_wsgi_application()  # WSGI: pages use the HTTP stream
