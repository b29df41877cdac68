#!/usr/bin/env python
# The Full Example dashboard inside a minimal Django project (see README.md next to this file).
# Needs: pip install 'pywry-server[django,plotly,pandas]' gunicorn 'uvicorn[standard]'
#   python examples/django_app/manage.py runserver 127.0.0.1:8080          (development)
#   gunicorn -k gthread --threads 16 --chdir examples/django_app salesproject.wsgi   (WSGI)
#   uvicorn --app-dir examples/django_app salesproject.asgi:application            (ASGI)
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
