"""Sign-in attempts are limited per client address: `/auth/login` counts, the provider's way back
(`/auth/callback`) does not, and behind a trusted proxy the address is the forwarded one.

tests/apps/auth_app.py as one worker with `LOGIN_ATTEMPTS_PER_MINUTE=3`, signing in through the
real OpenID provider of the suite (only its discovery document is read here).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.support import ROOT, Server, clean_env, run_server

pytestmark = pytest.mark.integration
APP = ROOT / "tests" / "apps" / "auth_app.py"
LIMIT = 3


@pytest.fixture(scope="module")
def site(oidc_provider, tmp_path_factory) -> Iterator[Server]:
    port = oidc_provider.take_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="1",
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_DEPLOY__AUTH_ENABLED="true",
        PYWRY_DEPLOY__LOGIN_ATTEMPTS_PER_MINUTE=str(LIMIT),
        **oidc_provider.app_env(),
    )
    with run_server([sys.executable, str(APP)], env, port, tmp_path_factory.mktemp("lim")) as srv:
        yield srv


def login(site: Server, forwarded: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return httpx.get(site.url + "/auth/login?next=/widget/board", headers=headers, timeout=10)


def test_the_fourth_login_in_a_minute_is_refused_but_callbacks_and_other_addresses_go_on(
    site: Server,
) -> None:
    for _ in range(LIMIT):
        res = login(site, "203.0.113.7")
        assert res.status_code == 302 and "response_type=code" in res.headers["location"]
    refused = login(site, "203.0.113.7")
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.text and "Traceback" not in refused.text

    # the provider sending the browser back is not an attempt: a bad state still gets its own
    # answer, not "too many"
    back = httpx.get(site.url + "/auth/callback?code=x&state=unknown", timeout=10)
    assert back.status_code == 400 and "Too many" not in back.text

    # another address behind the same (trusted, loopback) proxy has attempts of its own, and so
    # has the proxy's own address
    assert login(site, "198.51.100.2").status_code == 302
    assert login(site).status_code == 302
