"""`pywry.path_deploy()` called from a script: `python path_deploy_app.py BASE custom|none`.

`custom` gives folders an index page of this module's `folder_index` (a module-level function,
which every worker process imports from this file); `none` answers folders with 404. Host and
port are left to the settings (`host=""`, `port=0`).
"""

import sys
from pathlib import Path

import pywry


def folder_index(path: str) -> str:
    names = sorted(p.name for p in Path(path).iterdir() if not p.name.startswith("_"))
    items = "".join(f"<li>{name}</li>" for name in names)
    return f"<!doctype html><title>custom</title><h1 id='folder'>{Path(path).name}</h1>{items}"


if __name__ == "__main__":
    base, mode = sys.argv[1], sys.argv[2]
    pywry.path_deploy(base, index=folder_index if mode == "custom" else False)
