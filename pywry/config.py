"""pywry settings: the ``server`` and ``deploy`` sections and where their values come from.

Every setting can be given in four places. For each field the first of these that has a value
wins:

1. explicit arguments: ``PyWrySettings(server={"port": 9000})`` or ``PyWrySettings.load(...)``;
2. environment variables: ``PYWRY_SERVER__PORT=9000``, ``PYWRY_DEPLOY__STATE_BACKEND=redis``;
3. a config file: the file named by ``PYWRY_CONFIG_FILE``, else ``pywry.toml`` in the current
   working directory (``[server]`` / ``[deploy]`` tables), else the ``[tool.pywry]`` table of
   ``pyproject.toml`` in the current working directory (``[tool.pywry.server]``, ...);
4. the defaults declared on :class:`ServerSettings` and :class:`DeploySettings` below.

Sources combine per field: ``PYWRY_SERVER__PORT`` and ``host`` from ``pywry.toml`` both apply.
Unknown keys and invalid values raise :class:`ConfigError`, whose message names the key the way
the user wrote it (``PYWRY_SERVER__PORT: ...``, ``pywry.toml [server] prot: unknown setting``,
``server.port: ...``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import threading
import warnings
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, get_args
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .core.framing import check_frame_ancestors
from .core.hosts import check_host_patterns
from .redis_url import SENTINEL_SCHEME, is_sentinel_url, mask_password, parse_sentinel_url

if sys.version_info >= (3, 11):  # noqa: UP036 - still support 3.10
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "CONFIG_FILE_ENV",
    "ConfigError",
    "ConfigWarning",
    "DeploySettings",
    "OAuth2Settings",
    "PyWrySettings",
    "ServerSettings",
    "StateBackend",
    "get_settings",
    "parse_size",
    "reset_settings",
    "setting_sources",
    "settings_summary",
]

#: Environment variable that names the config file to read instead of the cwd defaults.
CONFIG_FILE_ENV = "PYWRY_CONFIG_FILE"

#: pywry's environment variables that are not ``PYWRY_<SECTION>__<FIELD>`` settings.
_OTHER_VARIABLES = frozenset(
    {
        CONFIG_FILE_ENV,
        "PYWRY_HEADLESS",
        "PYWRY_SQLITE_KEY",
        "PYWRY_DEPLOY_MODE",
        "PYWRY_PATH_DEPLOY",
        "PYWRY_BACKEND_CHECKED",
    }
)

_SERVER_ENV_PREFIX = "PYWRY_SERVER__"
_DEPLOY_ENV_PREFIX = "PYWRY_DEPLOY__"
_OAUTH2_ENV_PREFIX = "PYWRY_OAUTH2__"

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_LOG_FORMATS = ("text", "json")
_THEMES = ("dark", "light", "system")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://", SENTINEL_SCHEME)
_SECRET_FIELDS = frozenset(
    {"ssl_keyfile_password", "internal_api_token", "auth_secret", "client_secret", "metrics_token"}
)
_MASK = "***"

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmg]?)b?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class ConfigError(ValueError):
    """A setting is unknown or invalid.

    The message starts with the offending key as the user wrote it (an environment variable
    name, a file table and key, or ``section.field`` for an argument) so it can be fixed
    without reading pywry's source. ``keys`` holds those names for programmatic use.
    """

    def __init__(self, message: str, keys: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.keys = keys


class ConfigWarning(UserWarning):
    """An environment variable looks like a misspelled pywry setting (it is ignored)."""


def parse_size(value: object) -> int:
    """Turn a size such as ``500``, ``"500"``, ``"40K"``, ``"3M"`` or ``"1G"`` into bytes.

    Units are powers of 1024, case-insensitive, with an optional trailing ``B`` (``"40kb"``).
    The result must be a positive integer; anything else raises :class:`ValueError`. Used for
    ``max_payload_size`` so users can write limits the way they think about them.
    """
    result: int | None = None
    if isinstance(value, bool):
        result = None
    elif isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match is not None:
            result = int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
    if result is None or result <= 0:
        raise ValueError(
            f"must be a positive size in bytes such as 500, '40K', '3M' or '1G' (got {value!r})"
        )
    return result


def _split_list(value: object) -> object:
    """Accept a JSON list (``'["a","b"]'``) or a comma-separated string (``"a, b"``)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not a valid JSON list ({exc.msg}): {value!r}") from None
        if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
            raise ValueError(f"must be a JSON list of strings (got {value!r})")
        return parsed
    return [item.strip() for item in text.split(",") if item.strip()]


def _one_of(choices: tuple[str, ...]) -> BeforeValidator:
    """Validates a setting that is one of ``choices``, given in any case and with spaces around."""

    def check(value: object) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word not in choices:
                raise ValueError(f"must be one of {', '.join(choices)} (got {value!r})")
            return word
        return value

    return BeforeValidator(check)


class Choice(str, Enum):
    """A setting with a few named values; prints as its value."""

    def __str__(self) -> str:
        return str(self.value)


class StateBackend(Choice):
    """Where deploy-mode state (widgets, outboxes, connections, sessions) is kept."""

    MEMORY = "memory"
    SQLITE = "sqlite"
    REDIS = "redis"


_LogLevel = Annotated[str, _one_of(_LOG_LEVELS)]
_LogFormat = Annotated[str, _one_of(_LOG_FORMATS)]
_Theme = Annotated[str, _one_of(_THEMES)]
_Backend = Annotated[StateBackend, _one_of(tuple(b.value for b in StateBackend))]


class ServerSettings(BaseSettings):
    """HTTP/WebSocket server settings (env prefix ``PYWRY_SERVER__``).

    Covers the uvicorn options pywry passes on (host, port, workers, timeouts, limits), TLS, the
    widget URL prefix and the limits the core enforces (payload size, rates, replay buffers).
    Constructed directly it reads the environment only; :class:`PyWrySettings` adds the config
    file and strict key checking.
    """

    model_config = SettingsConfigDict(
        env_prefix=_SERVER_ENV_PREFIX,
        extra="forbid",
    )

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8765, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: _LogLevel = "info"
    log_format: _LogFormat = "text"  # deploy(): "json" writes every log line as one JSON object
    access_log: bool = True
    reload: bool = False
    timeout_keep_alive: int = Field(default=5, ge=0)
    timeout_graceful_shutdown: int | None = Field(default=None, ge=0)
    limit_concurrency: int | None = Field(default=None, ge=1)
    limit_max_requests: int | None = Field(default=None, ge=1)
    backlog: int = Field(default=2048, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    widget_prefix: str = "/widget"

    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_keyfile_password: str | None = Field(default=None, repr=False)
    ssl_ca_certs: str | None = None

    websocket_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_payload_size: int = 4 * 1024 * 1024
    reconnect_timeout: float = Field(default=30.0, ge=0)
    auto_start: bool = True
    open_browser: bool = True
    internal_api_token: str | None = Field(default=None, repr=False)
    theme: _Theme = "dark"
    cdn: bool | str | None = None
    sse_timeout: float = Field(default=25.0, gt=0)
    session_expire_seconds: float = Field(default=60.0, gt=0)
    outbox_size: int = Field(default=10_000, ge=1)
    outbox_max_age: float = Field(default=300.0, gt=0)
    outbox_max_bytes: int = 16 * 1024 * 1024  # per stream: the widget's, a page's, a session's
    replies_max_bytes: int = 64 * 1024 * 1024  # every page's and session's stream together
    max_events_per_second: float = Field(default=200.0, gt=0)
    max_events_per_second_per_address: float = Field(default=1000.0, gt=0)
    max_events_per_second_per_token: float = Field(default=5000.0, gt=0)
    max_new_clients_per_minute: int = Field(default=300, ge=1)  # per client address
    max_connections_per_widget: int = Field(default=1000, ge=1)
    max_connections_per_address: int = Field(default=100, ge=1)  # of one widget
    max_connections_per_client: int = Field(default=2, ge=1)  # of one widget
    max_queued_messages: int = Field(default=1000, ge=1)
    max_widgets: int = Field(default=100000, ge=1)
    max_visitor_widgets_per_minute: int = Field(default=120, ge=1)  # per client address
    unclaimed_widget_ttl: float = Field(default=30.0, gt=0)  # per-visitor, no page connected yet
    max_exports_per_minute: int = Field(default=10, ge=1)  # per page; 4x that per address
    callback_threads: int = Field(default=16, ge=1)
    trust_forwarded_prefix: bool = False
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-For names the client
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    frame_ancestors: str = "'self'"
    debug: bool = False  # callback errors tell the browser their exception text
    metrics: bool = False  # GET {base}/metrics in the Prometheus text format
    metrics_token: str | None = Field(default=None, repr=False)  # bearer token /metrics needs

    @field_validator("cors_origins", "websocket_allowed_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("allowed_hosts")
    @classmethod
    def _check_allowed_hosts(cls, value: list[str]) -> list[str]:
        return check_host_patterns(value)

    @field_validator("frame_ancestors")
    @classmethod
    def _check_frame_ancestors(cls, value: str) -> str:
        return check_frame_ancestors(value)

    @field_validator("widget_prefix")
    @classmethod
    def _check_widget_prefix(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must start with '/' (got {value!r})")
        if any(ch.isspace() or ch in "?#" for ch in value):
            raise ValueError(f"must be a plain URL path without spaces, '?' or '#' ({value!r})")
        prefix = value.rstrip("/")
        if not prefix:
            raise ValueError("must not be '/' alone; use a path such as '/widget'")
        return prefix

    @field_validator("max_payload_size", "outbox_max_bytes", "replies_max_bytes", mode="before")
    @classmethod
    def _parse_payload_size(cls, value: object) -> int:
        return parse_size(value)

    @model_validator(mode="after")
    def _check_ssl_pair(self) -> ServerSettings:
        if bool(self.ssl_keyfile) != bool(self.ssl_certfile):
            given, missing = (
                ("ssl_keyfile", "ssl_certfile")
                if self.ssl_keyfile
                else ("ssl_certfile", "ssl_keyfile")
            )
            raise ValueError(
                f"{given} is set but {missing} is not; set both ssl_certfile and ssl_keyfile"
            )
        return self


class DeploySettings(BaseSettings):
    """Deploy-mode settings (env prefix ``PYWRY_DEPLOY__``): state backend, TTLs, auth.

    Constructed directly it reads the environment only; :class:`PyWrySettings` adds the
    config file and strict key checking.
    """

    model_config = SettingsConfigDict(
        env_prefix=_DEPLOY_ENV_PREFIX,
        extra="forbid",
    )

    enabled: bool = False
    state_backend: _Backend = StateBackend.MEMORY
    sqlite_path: str = Field(default="~/.config/pywry/pywry.db", min_length=1)
    redis_url: str = "redis://localhost:6379/0"
    redis_prefix: str = "pywry"
    redis_pool_size: int = Field(default=10, ge=1, le=100)
    redis_cluster: bool = False
    widget_ttl: int = Field(default=86400, ge=1)
    connection_ttl: int = Field(default=300, ge=1)
    session_ttl: int = Field(default=86400, ge=1)
    worker_id: str | None = None
    auth_enabled: bool = False
    auth_session_cookie: str = Field(default="pywry_session", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    auth_header: str = Field(default="Authorization", pattern=r"^[A-Za-z0-9\-]{1,64}$")
    auth_secret: str | None = Field(default=None, min_length=32)
    default_roles: Annotated[list[str], NoDecode, BeforeValidator(_split_list)] = Field(
        default_factory=lambda: ["viewer"]
    )
    admin_users: Annotated[list[str], NoDecode, BeforeValidator(_split_list)] = Field(
        default_factory=list
    )
    login_attempts_per_minute: int = Field(default=20, ge=1)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if not value.startswith(_REDIS_SCHEMES):
            raise ValueError(
                f"must start with {', '.join(_REDIS_SCHEMES)} (got {mask_password(value)!r})"
            )
        if is_sentinel_url(value):
            parse_sentinel_url(value)  # its ValueError names what is wrong
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _check_redis_prefix(cls, value: str) -> str:
        if not value or any(ch.isspace() or ch in "{}" for ch in value):
            raise ValueError(
                f"must be non-empty, without whitespace or braces (got {value!r}); braces would "
                "change the hash tags that keep each widget's keys on one Redis Cluster slot"
            )
        return value

    @field_validator("redis_cluster")
    @classmethod
    def _check_redis_cluster(cls, value: bool, info: ValidationInfo) -> bool:
        url = info.data.get("redis_url")
        if not value or url is None:  # no URL: its own error is reported
            return value
        if not url.startswith(("redis://", "rediss://")):
            raise ValueError(
                "a Redis Cluster is reached through a redis:// or rediss:// URL of any of its "
                f"nodes (redis_url is {mask_password(url)!r})"
            )
        if urlsplit(url).path.strip("/") not in ("", "0"):
            raise ValueError("a Redis Cluster has database 0 only; end the URL with /0 or nothing")
        return value


_PROVIDERS = ("oidc", "google", "github", "microsoft", "custom")


class OAuth2Settings(BaseSettings):
    """Sign-in through an OAuth2 / OpenID Connect provider (env prefix ``PYWRY_OAUTH2__``).

    No provider (the default) means no sign-in routes: with access control on, a page then needs
    a user the host framework, an ``identify=`` callable or a bearer token provides.
    """

    model_config = SettingsConfigDict(env_prefix=_OAUTH2_ENV_PREFIX, extra="forbid")

    provider: Annotated[str | None, _one_of(_PROVIDERS)] = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: Annotated[list[str], NoDecode, BeforeValidator(_split_list)] = Field(
        default_factory=lambda: ["openid", "email", "profile"]
    )
    issuer_url: str | None = None
    tenant_id: str = "common"
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    use_pkce: bool = True
    redirect_uri: str | None = None

    @model_validator(mode="after")
    def _check_provider(self) -> OAuth2Settings:
        if self.provider is None:
            return self
        if not self.client_id:
            raise ValueError(f"provider {self.provider!r} needs client_id")
        if self.provider == "oidc" and not self.issuer_url:
            raise ValueError("provider 'oidc' needs issuer_url (its discovery document's base)")
        if self.provider == "custom":
            missing = [
                name
                for name in ("authorize_url", "token_url", "userinfo_url")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"provider 'custom' needs {', '.join(missing)}")
        for name in ("issuer_url", "authorize_url", "token_url", "userinfo_url", "redirect_uri"):
            value = getattr(self, name)
            if value and not value.startswith(("https://", "http://")):
                raise ValueError(f"{name} must be an http(s) URL (got {value!r})")
        return self


_SECTIONS: dict[str, type[BaseSettings]] = {
    "server": ServerSettings,
    "deploy": DeploySettings,
    "oauth2": OAuth2Settings,
}
# A section as given to PyWrySettings(...): a mapping of its fields, the section model, or None.
_SectionArg = Mapping[str, object] | BaseSettings | None
_ENV_PREFIXES = {
    "server": _SERVER_ENV_PREFIX,
    "deploy": _DEPLOY_ENV_PREFIX,
    "oauth2": _OAUTH2_ENV_PREFIX,
}

# Per section: field name -> (value, the key as the user wrote it).
_Layer = dict[str, dict[str, tuple[object, str]]]


def _empty_layer() -> _Layer:
    return {name: {} for name in _SECTIONS}


def _optional_fields(model: type[BaseSettings]) -> set[str]:
    return {
        name for name, info in model.model_fields.items() if type(None) in get_args(info.annotation)
    }


def _variables() -> dict[str, str]:
    """Every environment variable pywry reads, by its name without underscores."""
    names = [
        f"{prefix}{field.upper()}"
        for section, prefix in _ENV_PREFIXES.items()
        for field in _SECTIONS[section].model_fields
    ]
    return {name.replace("_", ""): name for name in (*names, *_OTHER_VARIABLES)}


def _intended_variable(upper: str) -> str | None:
    """The pywry variable that ``upper`` (an upper-case name) most likely misspells, if any.

    Tried in turn: the same name but for underscores (``PYWRY_SERVER_PORT``), a bare setting
    name that only one section has (``PYWRY_PORT``), then a close spelling (``..._PROT``).
    """
    known = _variables()
    if upper.replace("_", "") in known:
        return known[upper.replace("_", "")]
    tail = upper.removeprefix("PYWRY").strip("_")
    for prefix in _ENV_PREFIXES.values():
        tail = tail.removeprefix(prefix.removeprefix("PYWRY_").rstrip("_")).lstrip("_")
    owners = [s for s, model in _SECTIONS.items() if tail.lower() in model.model_fields]
    if len(owners) == 1:
        return f"{_ENV_PREFIXES[owners[0]]}{tail}"
    close = difflib.get_close_matches(upper, list(known.values()), n=1, cutoff=0.85)
    return close[0] if close else None


def _did_you_mean(word: str, choices: list[str]) -> str:
    """``"; did you mean x?"`` for the closest of ``choices`` to ``word``, or ``""``."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def _warn_misspelled(var: str) -> None:
    """Warn about a likely misspelled variable: once per process, however often settings load
    (Python's warning registry remembers each message issued from this one line)."""
    upper = var.upper()
    if not upper.startswith("PYWRY") or upper in _OTHER_VARIABLES:
        return
    intended = _intended_variable(upper)
    if intended is not None and intended != upper:
        warnings.warn(
            f"{var} is not a pywry setting and is ignored; did you mean {intended}?",
            ConfigWarning,
            stacklevel=1,
        )


def _env_layer(environ: Mapping[str, str]) -> _Layer:
    """Read ``PYWRY_SERVER__*`` / ``PYWRY_DEPLOY__*``; warn about names that look misspelled."""
    layer = _empty_layer()
    for var, raw in environ.items():
        upper = var.upper()
        if not upper.startswith(tuple(_ENV_PREFIXES.values())):
            _warn_misspelled(var)
        for section, prefix in _ENV_PREFIXES.items():
            if not upper.startswith(prefix):
                continue
            model = _SECTIONS[section]
            field = upper[len(prefix) :].lower()
            if field not in model.model_fields:
                hint = _intended_variable(upper)
                more = f"; did you mean {hint}?" if hint else ""
                raise ConfigError(f"{var}: unknown setting{more}", (var,))
            value: str | None = raw
            if field in _optional_fields(model) and raw.strip().lower() in ("", "none", "null"):
                value = None
            layer[section][field] = (value, var)
    return layer


def _table_layer(
    data: Mapping[str, object], file_label: str, table_prefix: str, layer: _Layer
) -> None:
    """Copy ``[server]`` / ``[deploy]`` tables of a parsed TOML document into ``layer``."""
    where = f"{file_label} [{table_prefix}]" if table_prefix else file_label
    for section, table in data.items():
        if section not in _SECTIONS:
            key = f"{where} {section}"
            raise ConfigError(
                f"{key}: unknown section (settings go under [server], [deploy] or [oauth2])",
                (key,),
            )
        table_name = f"{table_prefix}.{section}" if table_prefix else section
        if not isinstance(table, Mapping):
            key = f"{file_label} {table_name}"
            raise ConfigError(f"{key}: must be a table ([{table_name}])", (key,))
        model = _SECTIONS[section]
        for field, value in table.items():
            key = f"{file_label} [{table_name}] {field}"
            if field not in model.model_fields:
                more = _did_you_mean(field, list(model.model_fields))
                raise ConfigError(f"{key}: unknown setting{more}", (key,))
            layer[section][field] = (value, key)


def _read_toml(path: Path, label: str) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            document: dict[str, object] = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: invalid TOML: {exc}", (label,)) from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read config file: {exc}", (label,)) from None
    return document


def _tool_pywry(document: Mapping[str, object], label: str) -> Mapping[str, object]:
    """The ``[tool.pywry]`` table of a parsed ``pyproject.toml`` (empty when it has none)."""
    tool = document.get("tool", {})
    table = tool.get("pywry", {}) if isinstance(tool, Mapping) else {}
    if not isinstance(table, Mapping):
        key = f"{label} tool.pywry"
        raise ConfigError(f"{key}: must be a table ([tool.pywry])", (key,))
    return table


def _file_layer(environ: Mapping[str, str], cwd: Path) -> _Layer:
    """Read the config file chosen by ``PYWRY_CONFIG_FILE``, ``pywry.toml`` or ``pyproject``."""
    layer = _empty_layer()
    named = environ.get(CONFIG_FILE_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_FILE_ENV}: config file not found: {named}", (CONFIG_FILE_ENV,)
            )
        document = _read_toml(path, named)
        if path.name == "pyproject.toml":
            _table_layer(_tool_pywry(document, named), named, "tool.pywry", layer)
        else:
            _table_layer(document, named, "", layer)
        return layer

    pywry_toml = cwd / "pywry.toml"
    if pywry_toml.is_file():
        _table_layer(_read_toml(pywry_toml, "pywry.toml"), "pywry.toml", "", layer)
        return layer

    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        document = _read_toml(pyproject, "pyproject.toml")
        _table_layer(_tool_pywry(document, "pyproject.toml"), "pyproject.toml", "tool.pywry", layer)
    return layer


def _argument_layer(
    server: _SectionArg, deploy: _SectionArg, extra: Mapping[str, object]
) -> _Layer:
    """Turn ``server=`` / ``deploy=`` / ``oauth2=`` arguments (mappings or models) into a layer."""
    unknown = [name for name in extra if name not in _SECTIONS]
    if unknown:
        name = unknown[0]
        raise ConfigError(
            f"{name}: unknown settings section (expected server, deploy or oauth2)", (name,)
        )
    layer = _empty_layer()
    given_sections = {"server": server, "deploy": deploy, **extra}
    for section, given in given_sections.items():
        if given is None:
            continue
        model = _SECTIONS[section]
        values: Mapping[str, object]
        if isinstance(given, model):
            values = {name: getattr(given, name) for name in given.model_fields_set}
        elif isinstance(given, Mapping):
            values = given
        else:
            raise ConfigError(
                f"{section}: must be a mapping or {model.__name__} (got {type(given).__name__})",
                (section,),
            )
        for field, value in values.items():
            key = f"{section}.{field}"
            if field not in model.model_fields:
                more = _did_you_mean(field, list(model.model_fields))
                raise ConfigError(f"{key}: unknown setting{more}", (key,))
            layer[section][field] = (value, key)
    return layer


def _error_text(error: ErrorDetails, field: str) -> str:
    msg = str(error.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif "input" in error and field not in _SECRET_FIELDS:
        msg = f"{msg} (got {error['input']!r})"
    return msg


def _build_section(section: str, merged: dict[str, tuple[object, str]]) -> BaseSettings:
    """Validate one section's merged values, mapping pydantic errors to the user's key names."""
    model = _SECTIONS[section]

    if section == "server":
        cert = merged.get("ssl_certfile", (None, ""))
        keyfile = merged.get("ssl_keyfile", (None, ""))
        if bool(cert[0]) != bool(keyfile[0]):
            given, missing = (keyfile, "ssl_certfile") if keyfile[0] else (cert, "ssl_keyfile")
            given_name = "ssl_keyfile" if keyfile[0] else "ssl_certfile"
            raise ConfigError(
                f"{given[1]}: {given_name} is set but {missing} is not; "
                "set both ssl_certfile and ssl_keyfile",
                (given[1],),
            )

    try:
        # model_validate validates the given values only; it does not read the environment.
        return model.model_validate({field: value for field, (value, _) in merged.items()})
    except ValidationError as exc:
        messages: list[str] = []
        keys: list[str] = []
        for error in exc.errors():
            loc = error.get("loc", ())
            field = str(loc[0]) if loc else ""
            if field in merged:
                key = merged[field][1]
            else:
                key = f"{section}.{field}" if field else section
            if len(loc) > 1:
                key = f"{key}[{', '.join(str(part) for part in loc[1:])}]"
            keys.append(key)
            messages.append(f"{key}: {_error_text(error, field)}")
        raise ConfigError("; ".join(messages), tuple(keys)) from None


#: Where a setting's value came from, lowest precedence first (then "default" below them all).
SOURCES = ("file", "env", "argument")


def _layers(
    server: _SectionArg, deploy: _SectionArg, sections: Mapping[str, object]
) -> list[tuple[str, _Layer]]:
    """The config file, environment and argument layers, lowest precedence first."""
    args = _argument_layer(server, deploy, sections)
    env = _env_layer(os.environ)
    files = _file_layer(os.environ, Path.cwd())
    return list(zip(SOURCES, (files, env, args), strict=True))


def setting_sources(
    server: _SectionArg = None, deploy: _SectionArg = None, **sections: object
) -> dict[str, dict[str, tuple[str, str]]]:
    """Where each setting of ``PyWrySettings(server, deploy, **sections)`` comes from.

    Per section and field: ``(source, key)`` with source one of "default", "file", "env" or
    "argument", and key the name as the user wrote it (``PYWRY_SERVER__PORT``, ``pywry.toml
    [server] port``, ``server.port``; "" for a default). What ``pywry check`` prints.
    """
    found = {
        section: dict.fromkeys(model.model_fields, ("default", ""))
        for section, model in _SECTIONS.items()
    }
    for source, layer in _layers(server, deploy, sections):
        for section, values in layer.items():
            for field, (_, key) in values.items():
                found[section][field] = (source, key)
    return found


class PyWrySettings(BaseSettings):
    """All pywry settings: ``server`` and ``deploy`` sections, merged from their four sources.

    ``PyWrySettings(server={...}, deploy={...})`` merges, per field, explicit arguments over
    ``PYWRY_SERVER__*`` / ``PYWRY_DEPLOY__*`` environment variables over the config file over
    the defaults, and raises :class:`ConfigError` naming the offending key for unknown keys or
    invalid values. Use :func:`get_settings` for the process-wide instance.
    """

    model_config = SettingsConfigDict(extra="forbid")

    server: ServerSettings = Field(default_factory=lambda: ServerSettings.model_validate({}))
    deploy: DeploySettings = Field(default_factory=lambda: DeploySettings.model_validate({}))
    oauth2: OAuth2Settings = Field(default_factory=lambda: OAuth2Settings.model_validate({}))

    def __init__(
        self,
        server: Mapping[str, object] | ServerSettings | None = None,
        deploy: Mapping[str, object] | DeploySettings | None = None,
        **sections: object,
    ) -> None:
        layers = _layers(server, deploy, sections)
        built: dict[str, BaseSettings] = {}
        for section in _SECTIONS:
            merged: dict[str, tuple[object, str]] = {}
            for _, layer in layers:  # lowest precedence first
                merged.update(layer[section])
            built[section] = _build_section(section, merged)
        super().__init__(server=built["server"], deploy=built["deploy"], oauth2=built["oauth2"])

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the already merged sections passed by ``__init__``; it did the layering."""
        return (init_settings,)

    @classmethod
    def load(
        cls,
        server: Mapping[str, object] | ServerSettings | None = None,
        deploy: Mapping[str, object] | DeploySettings | None = None,
    ) -> PyWrySettings:
        """Load settings from arguments, environment, config file and defaults."""
        return cls(server=server, deploy=deploy)


_settings: PyWrySettings | None = None
_settings_lock = threading.Lock()


def get_settings() -> PyWrySettings:
    """Return the process-wide settings, loading them on first use.

    Cached so every part of pywry sees the same values; call :func:`reset_settings` after
    changing the environment or config file (tests do) to load them again.
    """
    global _settings
    current = _settings
    if current is not None:
        return current
    with _settings_lock:
        if _settings is None:
            _settings = PyWrySettings()
        return _settings


def reset_settings() -> None:
    """Drop the cached settings so the next :func:`get_settings` reloads them."""
    global _settings
    with _settings_lock:
        _settings = None


def settings_summary(s: PyWrySettings) -> dict[str, Any]:  # JSON: {"server": {...}, ...}
    """Return the settings as a JSON-ready dict that is safe to log or show.

    Secrets (``ssl_keyfile_password``, ``internal_api_token``, ``auth_secret``,
    ``client_secret``) that are set become ``"***"``,
    as does a password inside ``redis_url``; unset secrets stay ``None``.
    """
    summary: dict[str, Any] = s.model_dump(mode="json")
    for section in summary.values():
        for name in _SECRET_FIELDS:
            if section.get(name) is not None:
                section[name] = _MASK
    summary["deploy"]["redis_url"] = mask_password(summary["deploy"]["redis_url"])
    return summary
