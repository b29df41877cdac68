"""The folder of applications the directory deploy tests serve, and the application file they
write into it (a button whose callback answers this visitor with its own count of clicks)."""

from __future__ import annotations

import os
from pathlib import Path

APP = """from pywry import current_event
from pywry.inline import show

TEXT = "{text}"


def main():
    clicks = {{"n": 0}}  # this visitor's own: main() runs once per visit

    def on_click(data, event_type, label):
        clicks["n"] += 1
        current_event().reply("app:count", {{"text": TEXT, "n": clicks["n"]}})

    return show(
        "<h1 id='title'>" + TEXT + "</h1><button id='go'>Go</button><p id='out'></p>"
        "<script>document.getElementById('go').onclick = () =>"
        " window.pywry.emit('app:click', {{}});"
        "window.pywry.on('app:count', (d) => {{"
        "document.getElementById('out').textContent = d.text + ' ' + d.n; }});</script>",
        title=TEXT,
        callbacks={{"app:click": on_click}},
    )
"""


def app_source(text: str) -> str:
    return APP.format(text=text)


def make_tree(root: Path) -> Path:
    """The folder the tests deploy: applications, hidden names, a non-application, an
    `index.py`, and symlinks to a folder outside, to a folder inside and to a hidden one."""
    base, outside = root / "apps", root / "outside"
    files = {
        "A/b.py": app_source("B one"),
        "A/sub/d.py": app_source("D"),
        "A/_hidden.py": app_source("hidden"),
        "A/_private/e.py": app_source("private"),
        "A/.dot.py": app_source("dot"),
        "A/notapp.py": "x = 1\n",
        "C/index.py": app_source("C index"),
        "C/f.py": app_source("F"),
        "c.py": app_source("c"),
        "_secret.py": app_source("secret"),
        "_drafts/g.py": app_source("draft"),
        ".hidden/h.py": app_source("dotted"),
    }
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    outside.mkdir()
    (outside / "x.py").write_text(app_source("outside"))
    os.symlink(outside, base / "link_out")
    os.symlink(base / "A" / "_private", base / "link_hidden")
    return base
