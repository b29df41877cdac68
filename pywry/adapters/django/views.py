"""Django views: each translates one request into a core call and the answer back."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ...core import http, stream
from ...core.adapter import AdapterConfig
from ...core.adapter import host_static as core_host_static

__all__ = ["disconnect", "events", "health", "host_static", "index", "page", "sse", "static"]


def _reply(res: http.HttpResponse) -> HttpResponse:
    reply = HttpResponse(res.body, status=res.status, content_type=res.content_type)
    for key, value in res.headers.items():
        reply[key] = value
    return reply


def _headers(request: HttpRequest) -> Mapping[str, str]:
    """The request headers, lower-cased; `host` is checked against ALLOWED_HOSTS."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = request.get_host()  # raises DisallowedHost (a 400) for a foreign Host
    return headers


def _base(request: HttpRequest, cfg: AdapterConfig, suffix: str) -> str:
    path = request.path  # includes SCRIPT_NAME / root_path
    mount = path[: len(path) - len(suffix)] if suffix and path.endswith(suffix) else path
    trust = cfg.engine.settings.server.trust_forwarded_prefix
    return http.base_from(mount, _headers(request), trust)


def uses_websocket(request: HttpRequest | None) -> bool:
    """True when this request came through `pywry.adapters.django.asgi.application`."""
    scope = getattr(request, "scope", None)
    return bool(isinstance(scope, dict) and scope.get("pywry.websocket"))


def _is_asgi(request: HttpRequest) -> bool:
    return isinstance(getattr(request, "scope", None), dict)


@require_http_methods(["GET", "HEAD"])
def page(request: HttpRequest, label: str, pywry_config: AdapterConfig) -> HttpResponse:
    """`GET {base}{WIDGET_PREFIX}/{label}`."""
    cfg = pywry_config
    refused = stream.prepare_sync(cfg.engine, label)
    if refused is not None:
        return _reply(refused)
    base = _base(request, cfg, f"{cfg.engine.settings.server.widget_prefix}/{label}")
    return _reply(http.page(cfg.engine, label, base, websocket=uses_websocket(request)))


@require_GET
def sse(request: HttpRequest, label: str, pywry_config: AdapterConfig) -> HttpResponse:
    """`GET {base}/sse/{label}`: async chunks under ASGI, a blocking generator under WSGI."""
    res = stream.open_stream_sync(pywry_config, label, request.GET, _headers(request))
    if isinstance(res, http.HttpResponse):
        return _reply(res)
    chunks = res.async_chunks() if _is_asgi(request) else res.sync_chunks()
    reply = StreamingHttpResponse(chunks, content_type=res.content_type)  # type: ignore[arg-type]
    for key, value in res.headers.items():
        reply[key] = value
    return reply


@csrf_exempt
@require_POST
def events(request: HttpRequest, label: str, pywry_config: AdapterConfig) -> HttpResponse:
    """`POST {base}/events/{label}` (token + origin protected, so exempt from CSRF)."""
    return _reply(stream.handle_post_sync(pywry_config, label, _headers(request), request.read))


@csrf_exempt
@require_POST
def disconnect(request: HttpRequest, label: str, pywry_config: AdapterConfig) -> HttpResponse:
    """`POST {base}/disconnect/{label}` (token protected)."""
    return _reply(http.disconnect(pywry_config.engine, label, request.GET, _headers(request)))


@require_http_methods(["GET", "HEAD"])
def static(request: HttpRequest, name: str, pywry_config: AdapterConfig) -> HttpResponse:
    """`GET {base}/pywry-static/{name}`."""
    _headers(request)
    etag = request.headers.get("If-None-Match")
    return _reply(http.static(pywry_config.engine, name, etag))


@require_http_methods(["GET", "HEAD"])
def health(request: HttpRequest, pywry_config: AdapterConfig) -> HttpResponse:
    """`GET {base}/health`."""
    return _reply(http.health(pywry_config.engine, _headers(request)))


@require_http_methods(["GET", "HEAD"])
def host_static(request: HttpRequest, path: str, pywry_config: AdapterConfig) -> HttpResponse:
    """`GET {base}/static/{path}` from `static_dir`."""
    _headers(request)
    etag = request.headers.get("If-None-Match")
    return _reply(core_host_static(pywry_config, path, etag))


@require_GET
def index(
    request: HttpRequest, pywry_config: AdapterConfig, name: str | None = None
) -> HttpResponse:
    """`GET {base}/` (`?app=name`) and `GET {base}/app/{name}`: the page factories."""
    cfg = pywry_config
    apps = cfg.apps
    if apps is None:
        return _reply(http.error_response(404, "not-found", "no applications are configured"))
    suffix = "/" if name is None else f"/app/{name}"
    chosen = request.GET.get("app") if name is None else name
    base = _base(request, cfg, suffix)
    return _reply(apps.visit_sync(cfg, chosen, base, websocket=uses_websocket(request)))
