"""The optional Django app: template tags, and `settings.PYWRY` applied at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class PyWryConfig(AppConfig):
    """`INSTALLED_APPS += ["pywry.adapters.django"]`."""

    name = "pywry.adapters.django"
    label = "pywry"
    verbose_name = "pywry"

    def ready(self) -> None:
        """Apply `settings.PYWRY` before the project's modules register widgets."""
        from .conf import get_app  # noqa: PLC0415 - settings are ready only now

        get_app()
