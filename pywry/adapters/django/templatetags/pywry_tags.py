"""`{% load pywry_tags %}{% pywry_widget widget height="480px" %}`: embed a widget page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from ....core.embed import embed_html
from ..base import mount_base
from ..conf import get_app

register = template.Library()


@register.simple_tag(takes_context=True)
def pywry_widget(
    context: template.Context, widget: Any, height: str = "480px", title: str | None = None
) -> SafeString:
    """An `<iframe>` of the widget's page (a handle from `show()` or a label)."""
    app = get_app()
    base = mount_base(app, context.get("request"))
    return mark_safe(embed_html(widget, base, app=app, height=height, title=title))
