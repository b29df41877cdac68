"""The directory logic of directory deploy: which URL paths name which files, what a folder
lists, and modules imported again when their file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pywry.auth import protect
from pywry.config import setting_sources
from pywry.core.pathdeploy import Directory, entry_point

APP = "def main():\n    return 'x'\n"


def make_tree(root: Path) -> Path:
    """apps/ with applications, hidden names, a non-application and symlinks in and out."""
    base, outside = root / "apps", root / "outside"
    for folder in ("A/sub", "A/_private", "B", ".git"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    outside.mkdir()
    files = {
        "A/b.py": APP,
        "A/sub/d.py": "async def main():\n    return 'x'\n",
        "A/_hidden.py": APP,
        "A/_private/e.py": APP,
        "A/.dot.py": APP,
        "A/notapp.py": "x = 1\n",
        "A/imported.py": "from os import getcwd as main\n",
        "A/guarded.py": "if True:\n    def main():\n        return 'x'\n",
        "A/broken.py": "def main(:\n",
        "A/readme.txt": "not python",
        "B/index.py": APP,
        "B/other.py": APP,
        "c.py": APP,
        "c/inner.py": APP,  # the folder c/ hides c.py
        "_secret.py": APP,
        ".git/x.py": APP,
    }
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    (outside / "x.py").write_text(APP)
    os.symlink(outside, base / "link_out")
    os.symlink(base / "A", base / "link_in")
    os.symlink(base / "A" / "_private", base / "link_hidden")
    os.symlink(outside / "x.py", base / "file_out.py")
    return base


@pytest.fixture
def tree(tmp_path: Path) -> Directory:
    return Directory(make_tree(tmp_path))


def test_applications_are_found_at_their_paths(tree: Directory) -> None:
    b = tree.find("/A/b")
    assert b is not None and not b.folder and b.name == "A/b" and b.path == tree.base / "A/b.py"
    for path in ("/A/sub/d", "A/imported", "/A/guarded", "/A/broken", "/B/other", "/link_in/b"):
        found = tree.find(path)
        assert found is not None and not found.folder, path
    for path in ("/", "", "/A", "/A/", "/B/", "/c", "/A/sub/", "/link_in"):
        found = tree.find(path)
        assert found is not None and found.folder, path
    index = tree.index_of(tree.find("/B"))  # type: ignore[arg-type]
    assert index is not None and index.name == "B/index" and index.path.name == "index.py"
    assert tree.index_of(tree.find("/A")) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path",
    [
        "/_secret", "/A/_hidden", "/A/_private", "/A/_private/", "/A/_private/e", "/A/.dot",
        "/.git/x", "/.git/", "/A/notapp", "/A/readme", "/A/readme.txt", "/A/b.py", "/nope",
        "/../outside/x", "/A/../../outside/x", "/A/../b", "/./c", "/A/./b", "/..", "/A//b",
        "//A/b", "/link_out/x", "/link_out/", "/link_hidden/e", "/link_hidden/", "/file_out",
        "/A\\..\\..\\outside\\x", "/c\x00", "/C:/x", str(Path("/") / "outside" / "x"),
    ],
)  # fmt: skip
def test_hidden_missing_and_outside_paths_find_nothing(tree: Directory, path: str) -> None:
    assert tree.find(path) is None


def test_a_folder_lists_what_it_serves(tree: Directory) -> None:
    root = tree.listing(tree.find("/"))  # type: ignore[arg-type]
    assert root.folders == ["A", "B", "c", "link_in"]
    assert root.apps == []  # c.py is hidden by the folder c/, file_out.py points out
    a = tree.listing(tree.find("/A"))  # type: ignore[arg-type]
    assert a.folders == ["A/sub"]
    assert a.apps == ["A/b", "A/broken", "A/guarded", "A/imported"]
    b = tree.listing(tree.find("/B/"))  # type: ignore[arg-type]
    assert b.apps == ["B/other"]  # index.py is the folder itself
    assert tree.listing(tree.find("/link_in")).apps[0] == "link_in/b"  # type: ignore[arg-type]


def test_a_module_is_imported_again_when_it_changes_or_on_reload(tree: Directory) -> None:
    found = tree.find("/A/b")
    assert found is not None
    first = tree.module(found)
    assert tree.module(found) is first
    assert tree.module(found, reload=True) is not first
    found.path.write_text("def main():\n    return 'changed'\n")
    assert tree.module(found).main() == "changed"
    with pytest.raises(SyntaxError):
        tree.module(tree.find("/A/broken"))  # type: ignore[arg-type]
    found.path.write_text("raise RuntimeError('at import')\ndef main():\n    return 1\n")
    with pytest.raises(RuntimeError, match="at import"):
        tree.module(found)
    found.path.write_text(APP)
    assert tree.module(found).main() == "x"  # a failed import is not kept


def test_roles_come_from_protect_or_the_module(tree: Directory, tmp_path: Path) -> None:
    module = tree.module(tree.find("/c/inner"))  # type: ignore[arg-type]
    assert entry_point(module).roles == ()
    module.ROLES = ["analyst"]  # type: ignore[attr-defined]
    assert entry_point(module).roles == ("analyst",)
    protect(module.main, roles=["admin"])
    assert entry_point(module).roles == ("admin",)
    module.main = 3  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="main must be a function"):
        entry_point(module)


def test_the_base_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an existing folder"):
        Directory(tmp_path / "missing")
    with pytest.raises(TypeError):
        Directory(3)  # type: ignore[arg-type]


def test_setting_sources_name_where_each_value_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pywry.toml").write_text("[server]\nhost = '0.0.0.0'\nport = 1\n")
    monkeypatch.setenv("PYWRY_SERVER__PORT", "2")
    sources = setting_sources(server={"workers": 3})["server"]
    assert sources["host"] == ("file", "pywry.toml [server] host")
    assert sources["port"] == ("env", "PYWRY_SERVER__PORT")
    assert sources["workers"] == ("argument", "server.workers")
    assert sources["reload"] == ("default", "")
