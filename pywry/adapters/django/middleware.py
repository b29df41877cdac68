"""Optional middleware: widgets shown while Django handles a request are per-visitor, and
`get_widget_html()` renders URLs for the pywry routes of this project."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from ...core.context import in_request, request_base, request_websocket
from .base import mount_base
from .views import uses_websocket


class PyWryMiddleware:
    """`MIDDLEWARE += ["pywry.adapters.django.middleware.PyWryMiddleware"]` (sync and async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        tokens = self._enter(request)
        try:
            return self.get_response(request)
        finally:
            self._exit(tokens)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        tokens = self._enter(request)
        try:
            response: Awaitable[HttpResponse] = self.get_response(request)
            return await response
        finally:
            self._exit(tokens)

    @staticmethod
    def _enter(request: HttpRequest) -> tuple[Any, Any, Any]:
        return (
            in_request.set(True),
            request_base.set(mount_base(request)),
            request_websocket.set(uses_websocket(request)),
        )

    @staticmethod
    def _exit(tokens: tuple[Any, Any, Any]) -> None:
        in_request.reset(tokens[0])
        request_base.reset(tokens[1])
        request_websocket.reset(tokens[2])
