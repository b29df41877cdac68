"""Toolbar validation errors as one readable line, with "did you mean ...?" for typos.

Pydantic's own message spans several lines per error (location, message, input, a URL). A
toolbar is typed by hand, so its mistakes are mostly typos: ``Button(lable="Go")`` should say
``Button: unknown argument 'lable'; did you mean 'label'?`` and nothing more. The error stays a
pydantic ``ValidationError`` (``errors()`` is unchanged), so ``except ValidationError`` still
catches it.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

__all__ = ["ToolbarError", "one_line"]


class ToolbarError(ValidationError):
    """A toolbar model refused its arguments; ``str()`` is one line naming what and where."""

    line: str

    def __str__(self) -> str:
        return self.line

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.line!r})"


def one_line(exc: ValidationError, model: type[BaseModel]) -> ValidationError:
    """``exc`` (raised validating ``model``) as a :class:`ToolbarError` with a one-line message."""
    if isinstance(exc, ToolbarError):
        return exc
    errors = exc.errors()
    line = f"{model.__name__}: " + "; ".join(_describe(model, error) for error in errors)
    out = ToolbarError.from_exception_data(exc.title, errors)  # type: ignore[arg-type]
    out.line = line
    return out


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``list[Option]``, a union of items, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models(arg)]


def _kind(model: type[BaseModel]) -> object:
    field = model.model_fields.get("kind")
    return None if field is None else field.default


def _walk(root: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, type[BaseModel] | None]:
    """The location as the user wrote it (``items[0].label``) and the model owning its last part.

    Discriminator tags in pydantic's location (``items.0.button.label``) name the item type
    and are left out of the text.
    """
    text = ""
    models = [root]
    for part in loc[:-1]:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        tagged = [m for m in models if _kind(m) == part]
        if len(models) > 1 and tagged:
            models = tagged
            continue
        field = next((m.model_fields[part] for m in models if part in m.model_fields), None)
        text += f".{part}" if text else part
        models = _models(field.annotation) if field is not None else []
    last = loc[-1] if loc else ""
    text += f"[{last}]" if isinstance(last, int) else (f".{last}" if text and last else last)
    return text, models[0] if len(models) == 1 else None


def _choices(annotation: Any) -> list[str]:
    """The allowed values of a ``Literal`` field (also inside ``Optional``)."""
    if get_origin(annotation) is Literal:
        return [str(arg) for arg in get_args(annotation)]
    return [value for arg in get_args(annotation) for value in _choices(arg)]


def _suggest(word: str, choices: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` (case aside), or ``""``."""
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def _describe(root: type[BaseModel], error: ErrorDetails) -> str:
    """One error as ``where: what`` in the words of a user writing toolbar code."""
    loc = tuple(error.get("loc", ()))
    where, owner = _walk(root, loc)
    name = str(loc[-1]) if loc else ""
    kind, given = error.get("type", ""), error.get("input")
    parent = where[: -len(name)].rstrip(".") if name and where.endswith(name) else where
    prefix = f"{parent}: " if parent else ""
    if kind == "extra_forbidden":
        fields = [f for f in (owner.model_fields if owner else {}) if f != "kind"]
        of = f" of {owner.__name__}" if owner is not None and owner is not root else ""
        hint = _suggest(name, fields) or (f" ({', '.join(fields)} are known)" if fields else "")
        return f"{prefix}unknown argument {name!r}{of}{hint}"
    if kind == "literal_error":
        field = owner.model_fields.get(name) if owner is not None else None
        choices = _choices(field.annotation) if field is not None else []
        expected = error.get("ctx", {}).get("expected", ", ".join(map(repr, choices)))
        hint = _suggest(given, choices) if isinstance(given, str) else ""
        return f"{where} {given!r} is not one of {expected}{hint}"
    if kind == "missing":
        return f"{where} is required"
    msg = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind in ("value_error", "assertion_error"):
        return f"{prefix}{msg}" if msg.startswith(name) else f"{where + ': ' if where else ''}{msg}"
    return f"{where}: {msg} (got {given!r})" if where else f"{msg} (got {given!r})"
