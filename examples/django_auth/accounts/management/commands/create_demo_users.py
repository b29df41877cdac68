"""`manage.py create_demo_users`: alice (group "analyst") and the superuser root."""

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = 'Create alice (group "analyst") and the superuser root, with the given passwords.'

    def add_arguments(self, parser):
        parser.add_argument("--alice-password", default="alice-password")
        parser.add_argument("--root-password", default="root-password")

    def handle(self, *args, alice_password, root_password, **options):
        analyst, _ = Group.objects.get_or_create(name="analyst")  # pywry role "analyst"
        alice, _ = User.objects.get_or_create(username="alice")
        alice.set_password(alice_password)
        alice.save()
        alice.groups.add(analyst)
        root, _ = User.objects.get_or_create(username="root")
        root.is_superuser = root.is_staff = True  # pywry role "admin"
        root.set_password(root_password)
        root.save()
        self.stdout.write("created alice (analyst) and root (superuser)")
