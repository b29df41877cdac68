"""Tests for pywry.config: defaults, sources and their precedence, validation errors."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from pywry.config import (
    ConfigError,
    ConfigWarning,
    DeploySettings,
    PyWrySettings,
    ServerSettings,
    StateBackend,
    get_settings,
    parse_size,
    reset_settings,
    settings_summary,
)
from tests.support import ROOT, clean_env


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Start every test with no PYWRY_* variables, in an empty cwd and an empty cache."""
    for name in list(os.environ):
        if name.upper().startswith("PYWRY_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    reset_settings()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults -------------------------------------------------------------------------------


def test_server_defaults() -> None:
    s = PyWrySettings().server
    assert s.host == "127.0.0.1"
    assert s.port == 8765
    assert s.workers == 1
    assert s.log_level == "info"
    assert s.access_log is True
    assert s.reload is False
    assert s.timeout_keep_alive == 5
    assert s.timeout_graceful_shutdown is None
    assert s.limit_concurrency is None
    assert s.limit_max_requests is None
    assert s.backlog == 2048
    assert s.cors_origins == ["*"]
    assert s.widget_prefix == "/widget"
    assert s.auto_start is True
    assert (s.ssl_certfile, s.ssl_keyfile, s.ssl_keyfile_password, s.ssl_ca_certs) == (
        None,
        None,
        None,
        None,
    )


def test_server_defaults_for_pywry_limits() -> None:
    s = PyWrySettings().server
    assert s.websocket_allowed_origins == []
    assert s.max_payload_size == 4 * 1024 * 1024
    assert s.reconnect_timeout == 30.0
    assert s.open_browser is True
    assert s.internal_api_token is None
    assert s.theme == "dark"
    assert s.cdn is None
    assert s.sse_timeout == 25.0
    assert s.session_expire_seconds == 60.0
    assert s.outbox_size == 10_000
    assert s.outbox_max_age == 300.0
    assert s.max_events_per_second == 200.0
    assert s.max_connections_per_widget == 1000
    assert s.max_queued_messages == 1000
    assert s.max_widgets == 100000
    assert s.callback_threads == 16
    assert s.trust_forwarded_prefix is False


def test_deploy_defaults() -> None:
    d = PyWrySettings().deploy
    assert d.enabled is False
    assert d.state_backend is StateBackend.MEMORY
    assert d.state_backend.value == "memory"
    assert d.sqlite_path == "~/.config/pywry/pywry.db"
    assert d.redis_url == "redis://localhost:6379/0"
    assert d.redis_prefix == "pywry"
    assert d.redis_pool_size == 10
    assert d.widget_ttl == 86400
    assert d.connection_ttl == 300
    assert d.session_ttl == 86400
    assert d.worker_id is None
    assert d.auth_enabled is False


def test_sections_read_their_env_prefix_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__PORT", "9001")
    monkeypatch.setenv("PYWRY_SERVER__CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("PYWRY_DEPLOY__STATE_BACKEND", "sqlite")
    assert ServerSettings().port == 9001
    assert ServerSettings().cors_origins == ["https://a.example", "https://b.example"]
    assert DeploySettings().state_backend is StateBackend.SQLITE


# --- precedence ------------------------------------------------------------------------------


def test_argument_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__PORT", "9000")
    assert PyWrySettings(server={"port": 9100}).server.port == 9100
    assert PyWrySettings.load(server={"port": 9200}).server.port == 9200


def test_env_beats_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nport = 9000\n[deploy]\nredis_prefix = 'file'\n")
    monkeypatch.setenv("PYWRY_SERVER__PORT", "9001")
    monkeypatch.setenv("PYWRY_DEPLOY__REDIS_PREFIX", "env")
    s = PyWrySettings()
    assert s.server.port == 9001
    assert s.deploy.redis_prefix == "env"


def test_file_beats_default(tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nhost = '0.0.0.0'\nport = 443\n")
    s = PyWrySettings()
    assert s.server.host == "0.0.0.0"
    assert s.server.port == 443
    assert s.server.workers == 1


def test_sources_combine_per_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nhost = '0.0.0.0'\nport = 1111\n")
    monkeypatch.setenv("PYWRY_SERVER__PORT", "2222")
    monkeypatch.setenv("PYWRY_SERVER__WORKERS", "3")
    s = PyWrySettings(server={"workers": 4})
    assert (s.server.host, s.server.port, s.server.workers) == ("0.0.0.0", 2222, 4)


def test_argument_may_be_a_section_model() -> None:
    s = PyWrySettings(server=ServerSettings.model_validate({"port": 1234}))
    assert s.server.port == 1234


# --- config file lookup ----------------------------------------------------------------------


def test_pyproject_tool_pywry(tmp_path: Path) -> None:
    _write(
        tmp_path / "pyproject.toml",
        "[project]\nname = 'x'\n[tool.pywry.server]\nport = 7000\n"
        "[tool.pywry.deploy]\nstate_backend = 'redis'\n",
    )
    s = PyWrySettings()
    assert s.server.port == 7000
    assert s.deploy.state_backend is StateBackend.REDIS


def test_pyproject_without_tool_pywry_is_ignored(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert PyWrySettings().server.port == 8765


def test_pywry_toml_wins_over_pyproject(tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nport = 1000\n")
    _write(tmp_path / "pyproject.toml", "[tool.pywry.server]\nport = 2000\n")
    assert PyWrySettings().server.port == 1000


def test_config_file_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nport = 1000\n")
    other = _write(tmp_path / "custom.toml", "[server]\nport = 3000\n")
    monkeypatch.setenv("PYWRY_CONFIG_FILE", str(other))
    assert PyWrySettings().server.port == 3000


def test_config_file_env_missing_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("PYWRY_CONFIG_FILE", str(missing))
    with pytest.raises(ConfigError, match="PYWRY_CONFIG_FILE") as info:
        PyWrySettings()
    assert str(missing) in str(info.value)


def test_tool_pywry_must_be_a_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool]\npywry = 1\n")
    with pytest.raises(ConfigError, match=r"^pyproject\.toml tool\.pywry: must be a table"):
        PyWrySettings()
    named = tmp_path / "conf" / "pyproject.toml"
    named.parent.mkdir()
    _write(named, "[tool]\npywry = 'x'\n")
    monkeypatch.setenv("PYWRY_CONFIG_FILE", str(named))
    with pytest.raises(ConfigError, match=r"pyproject\.toml tool\.pywry: must be a table"):
        PyWrySettings()


def test_config_file_env_may_name_a_pyproject(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    named = _write(tmp_path / "pyproject.toml", "[tool.pywry.server]\nport = 4000\n")
    monkeypatch.setenv("PYWRY_CONFIG_FILE", str(named))
    assert PyWrySettings().server.port == 4000


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server\nport = 1\n")
    with pytest.raises(ConfigError, match=r"^pywry\.toml: invalid TOML"):
        PyWrySettings()


# --- unknown keys ----------------------------------------------------------------------------


def test_unknown_key_in_file(tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"^pywry\.toml \[server\] prot: unknown setting"):
        PyWrySettings()


def test_unknown_section_in_file(tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[sever]\nport = 1\n")
    with pytest.raises(ConfigError, match="sever"):
        PyWrySettings()


def test_unknown_key_in_pyproject(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool.pywry.deploy]\nbackend = 'redis'\n")
    with pytest.raises(
        ConfigError, match=r"^pyproject\.toml \[tool\.pywry\.deploy\] backend: unknown setting"
    ):
        PyWrySettings()


def test_unknown_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__PROT", "1")
    with pytest.raises(ConfigError, match=r"^PYWRY_SERVER__PROT: unknown setting"):
        PyWrySettings()


@pytest.mark.parametrize(
    ("var", "intended"),
    [
        ("PYWRY_SERVER__PROT", "PYWRY_SERVER__PORT"),
        ("PYWRY_SERVER__STATE_BACKEND", "PYWRY_DEPLOY__STATE_BACKEND"),
        ("PYWRY_DEPLOY__WORKERS", "PYWRY_SERVER__WORKERS"),
    ],
)
def test_unknown_key_in_env_names_the_likely_one(
    monkeypatch: pytest.MonkeyPatch, var: str, intended: str
) -> None:
    monkeypatch.setenv(var, "1")
    with pytest.raises(ConfigError) as exc:
        PyWrySettings()
    assert str(exc.value) == f"{var}: unknown setting; did you mean {intended}?"


def test_unknown_key_in_file_or_argument_names_the_likely_one(tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nprot = 1\n")
    with pytest.raises(ConfigError) as exc:
        PyWrySettings()
    assert str(exc.value) == "pywry.toml [server] prot: unknown setting; did you mean port?"
    (tmp_path / "pywry.toml").unlink()
    with pytest.raises(ConfigError) as exc:
        PyWrySettings(deploy={"state_backnd": "redis"})
    assert str(exc.value) == "deploy.state_backnd: unknown setting; did you mean state_backend?"


@pytest.mark.parametrize(
    ("var", "intended"),
    [
        ("PYWRY_SERVER_PORT", "PYWRY_SERVER__PORT"),  # one underscore
        ("PYWRY_PORT", "PYWRY_SERVER__PORT"),  # no section
        ("PYWRY_DEPLOY_STATE_BACKEND", "PYWRY_DEPLOY__STATE_BACKEND"),
        ("PYWRY_SERVER_WORKER", "PYWRY_SERVER__WORKERS"),
        ("PYWRY_HEADLES", "PYWRY_HEADLESS"),
    ],
)
def test_a_misspelled_variable_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, var: str, intended: str
) -> None:
    monkeypatch.setenv(var, "9000")
    with pytest.warns(ConfigWarning) as caught:
        settings = PyWrySettings()
    assert [str(w.message) for w in caught] == [
        f"{var} is not a pywry setting and is ignored; did you mean {intended}?"
    ]
    assert settings.server.port == 8765


def test_a_misspelled_variable_is_warned_about_once_per_process(tmp_path: Path) -> None:
    code = (
        "from pywry import PyWry\n"
        "from pywry.config import PyWrySettings, get_settings\n"
        "PyWrySettings()\nget_settings()\nPyWry(port=0)\n"
    )
    env = clean_env(PYWRY_SERVER_PORT="9000", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = (
        "PYWRY_SERVER_PORT is not a pywry setting and is ignored; did you mean PYWRY_SERVER__PORT?"
    )
    assert done.stderr.count(line) == 1, done.stderr


def test_other_pywry_env_vars_are_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PYWRY_HEADLESS", "PYWRY_DEPLOY_MODE", "PYWRY_SQLITE_KEY", "PYWRY_ANYTHING"):
        monkeypatch.setenv(name, "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and none of them is taken for a misspelling
        assert PyWrySettings().server.port == 8765


def test_unknown_key_in_argument() -> None:
    with pytest.raises(ConfigError, match=r"^server\.prot: unknown setting"):
        PyWrySettings(server={"prot": 1})
    with pytest.raises(ConfigError, match=r"^deploy\.backend: unknown setting"):
        PyWrySettings.load(deploy={"backend": "redis"})


def test_unknown_section_argument() -> None:
    with pytest.raises(ConfigError, match=r"^sever: unknown settings section"):
        PyWrySettings(sever={"port": 1})


# --- value validation ------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_bad_port_from_env(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    monkeypatch.setenv("PYWRY_SERVER__PORT", port)
    with pytest.raises(ConfigError, match=r"^PYWRY_SERVER__PORT: "):
        PyWrySettings()


def test_bad_port_from_argument_and_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^server\.port: "):
        PyWrySettings(server={"port": 70000})
    _write(tmp_path / "pywry.toml", "[server]\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"^pywry\.toml \[server\] port: "):
        PyWrySettings()


def test_port_zero_means_any_free_port() -> None:
    assert PyWrySettings(server={"port": 0}).server.port == 0


def test_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__LOG_LEVEL", "DEBUG")
    assert PyWrySettings().server.log_level == "debug"
    monkeypatch.setenv("PYWRY_SERVER__LOG_LEVEL", "verbose")
    with pytest.raises(ConfigError, match=r"^PYWRY_SERVER__LOG_LEVEL: .*verbose"):
        PyWrySettings()


@pytest.mark.parametrize("size", [0, 101])
def test_bad_redis_pool_size(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setenv("PYWRY_DEPLOY__REDIS_POOL_SIZE", str(size))
    with pytest.raises(ConfigError, match=r"^PYWRY_DEPLOY__REDIS_POOL_SIZE: "):
        PyWrySettings()
    with pytest.raises(ConfigError, match=r"deploy\.redis_pool_size: "):
        PyWrySettings(deploy={"redis_pool_size": size}, server={})


def test_keyfile_without_certfile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__SSL_KEYFILE", "/k.pem")
    with pytest.raises(ConfigError, match="PYWRY_SERVER__SSL_KEYFILE") as info:
        PyWrySettings()
    assert "ssl_certfile" in str(info.value) and "ssl_keyfile" in str(info.value)


def test_certfile_without_keyfile() -> None:
    with pytest.raises(ConfigError, match=r"^server\.ssl_certfile: .*ssl_keyfile"):
        PyWrySettings(server={"ssl_certfile": "/c.pem"})


def test_ssl_pair_may_come_from_different_sources(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nssl_certfile = '/c.pem'\n")
    monkeypatch.setenv("PYWRY_SERVER__SSL_KEYFILE", "/k.pem")
    s = PyWrySettings().server
    assert (s.ssl_certfile, s.ssl_keyfile) == ("/c.pem", "/k.pem")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("workers", 0),
        ("backlog", 0),
        ("theme", "blue"),
        ("sse_timeout", 0),
        ("outbox_size", 0),
        ("callback_threads", 0),
        ("reconnect_timeout", -1),
    ],
)
def test_out_of_range_server_values(field: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"^server\.{field}: "):
        PyWrySettings(server={field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("redis_url", "http://localhost:6379"),
        ("redis_prefix", ""),
        ("redis_prefix", "my app"),
        ("widget_ttl", 0),
        ("state_backend", "mongo"),
    ],
)
def test_invalid_deploy_values(field: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"^deploy\.{field}: "):
        PyWrySettings(deploy={field: value})


def test_redis_url_schemes() -> None:
    for url in ("redis://h:1/0", "rediss://h:1/0", "unix:///tmp/redis.sock"):
        assert PyWrySettings(deploy={"redis_url": url}).deploy.redis_url == url


def test_state_backend_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_DEPLOY__STATE_BACKEND", "REDIS")
    assert PyWrySettings().deploy.state_backend is StateBackend.REDIS


def test_bool_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in [("1", True), ("0", False), ("yes", True), ("off", False)]:
        monkeypatch.setenv("PYWRY_DEPLOY__ENABLED", raw)
        assert PyWrySettings().deploy.enabled is expected


def test_empty_env_value_clears_optional_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__LIMIT_CONCURRENCY", "")
    monkeypatch.setenv("PYWRY_DEPLOY__WORKER_ID", "w1")
    s = PyWrySettings()
    assert s.server.limit_concurrency is None
    assert s.deploy.worker_id == "w1"


# --- widget prefix ---------------------------------------------------------------------------


def test_widget_prefix_trailing_slash_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__WIDGET_PREFIX", "/w/")
    assert PyWrySettings().server.widget_prefix == "/w"


@pytest.mark.parametrize("prefix", ["/", "widget", ""])
def test_widget_prefix_invalid(prefix: str) -> None:
    with pytest.raises(ConfigError, match=r"^server\.widget_prefix: "):
        PyWrySettings(server={"widget_prefix": prefix})


# --- sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (500, 500),
        ("500", 500),
        ("40K", 40 * 1024),
        ("3M", 3 * 1024**2),
        ("1g", 1024**3),
        ("40kb", 40 * 1024),
    ],
)
def test_parse_size(value: Any, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["abc", "-1", 0, -5, "", "3X", True, None])
def test_parse_size_rejects(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


def test_max_payload_size_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__MAX_PAYLOAD_SIZE", "3M")
    assert PyWrySettings().server.max_payload_size == 3 * 1024**2
    monkeypatch.setenv("PYWRY_SERVER__MAX_PAYLOAD_SIZE", "lots")
    with pytest.raises(ConfigError, match=r"^PYWRY_SERVER__MAX_PAYLOAD_SIZE: "):
        PyWrySettings()


def test_max_payload_size_from_file(tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nmax_payload_size = '40K'\n")
    assert PyWrySettings().server.max_payload_size == 40 * 1024


# --- lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["cors_origins", "websocket_allowed_origins"])
def test_list_env_comma_separated(monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    monkeypatch.setenv(f"PYWRY_SERVER__{field.upper()}", "https://a.example, https://*.b.example")
    assert getattr(PyWrySettings().server, field) == ["https://a.example", "https://*.b.example"]


@pytest.mark.parametrize("field", ["cors_origins", "websocket_allowed_origins"])
def test_list_env_json(monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    monkeypatch.setenv(f"PYWRY_SERVER__{field.upper()}", '["https://a.example","http://b:8000"]')
    assert getattr(PyWrySettings().server, field) == ["https://a.example", "http://b:8000"]


def test_list_env_bad_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__CORS_ORIGINS", '["a",')
    with pytest.raises(ConfigError, match=r"^PYWRY_SERVER__CORS_ORIGINS: "):
        PyWrySettings()


def test_list_from_file(tmp_path: Path) -> None:
    _write(tmp_path / "pywry.toml", "[server]\nwebsocket_allowed_origins = ['https://x.example']\n")
    assert PyWrySettings().server.websocket_allowed_origins == ["https://x.example"]


# --- cache and summary -----------------------------------------------------------------------


def test_get_settings_is_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("PYWRY_SERVER__PORT", "9999")
    assert get_settings().server.port == 8765
    reset_settings()
    assert get_settings().server.port == 9999


def test_settings_summary_masks_secrets() -> None:
    s = PyWrySettings(
        server={
            "ssl_certfile": "/c.pem",
            "ssl_keyfile": "/k.pem",
            "ssl_keyfile_password": "hunter2",
            "internal_api_token": "tok-secret",
        },
        deploy={"redis_url": "redis://:redispw@localhost:6379/0"},
    )
    summary = settings_summary(s)
    assert summary["server"]["ssl_keyfile_password"] == "***"
    assert summary["server"]["internal_api_token"] == "***"
    assert summary["server"]["ssl_certfile"] == "/c.pem"
    assert summary["server"]["port"] == 8765
    assert summary["deploy"]["state_backend"] == "memory"
    assert "redispw" not in str(summary)
    assert "hunter2" not in repr(s) and "tok-secret" not in repr(s)


# --- security settings -----------------------------------------------------------------------


def test_frame_ancestors_map_to_their_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    from pywry.core.framing import frame_headers

    assert PyWrySettings().server.frame_ancestors == "'self'"
    cases = {
        "'self'": "SAMEORIGIN",
        "none": "DENY",  # the quotes may be left out
        "self https://*.example.com": None,  # X-Frame-Options cannot say this: CSP alone
    }
    for given, legacy in cases.items():
        monkeypatch.setenv("PYWRY_SERVER__FRAME_ANCESTORS", given)
        value = PyWrySettings().server.frame_ancestors
        headers = frame_headers(value)
        assert headers["Content-Security-Policy"] == f"frame-ancestors {value}"
        assert headers.get("X-Frame-Options") == legacy, given
    for bad in ("'none' 'self'", "https://a.example; script-src *", ""):
        monkeypatch.setenv("PYWRY_SERVER__FRAME_ANCESTORS", bad)
        with pytest.raises(ConfigError, match="PYWRY_SERVER__FRAME_ANCESTORS"):
            PyWrySettings()
