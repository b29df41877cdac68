"""A deploy-mode app for the page-side e2e tests: navigation, a failing callback, page defaults.

Every widget answers `app:ping` with `app:pong`; `nav` navigates wherever `app:go` says and its
`app:fail` always raises. `full` is a whole HTML document without a <title>; `bar` has a
toolbar; `/host` embeds `nav` in an iframe of a page of the host's own.
"""

from fastapi.responses import HTMLResponse

from pywry import current_event
from pywry.adapters.fastapi import embed
from pywry.inline import deploy, get_server_app, show
from pywry.toolbar import Button, Toolbar

app = get_server_app()


def on_go(data, event_type, label):
    nav.navigate(data["url"])


def on_ping(data, event_type, label):
    current_event().reply("app:pong", {"n": data.get("n")})


def on_fail(data, event_type, label):
    raise ValueError("the report could not be built")


nav = show(
    "<h1 id='here'>Revenue</h1>",
    label="nav",
    title="Revenue",
    callbacks={"app:go": on_go, "app:ping": on_ping, "app:fail": on_fail},
)
full = show(
    "<!doctype html><html><head><meta charset='utf-8'></head><body><p>whole</p></body></html>",
    label="full",
    title="A whole page",
    callbacks={"app:ping": on_ping},
)
bar = show(
    "<p>with a toolbar</p>",
    label="bar",
    toolbars=[Toolbar(items=[Button(event="app:noop", label="Go")])],
    callbacks={"app:ping": on_ping},
)


@app.get("/host", response_class=HTMLResponse)
def host() -> str:
    return f"<!doctype html><html><head><title>Host</title></head><body>{embed(nav)}</body></html>"


if __name__ == "__main__":
    deploy()
