#!/usr/bin/env python
# pywry behind Django's own sign-in (django.contrib.auth, a SQLite database); see README.md.
# Needs: pip install 'pywry-server[django]' gunicorn 'uvicorn[standard]'
#   python examples/django_auth/manage.py migrate
#   python examples/django_auth/manage.py create_demo_users     (alice in group "analyst", root)
#   python examples/django_auth/manage.py runserver 127.0.0.1:8080
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
