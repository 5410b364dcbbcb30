"""Dotted paths into a JSON payload (``data.customer.email``, ``data.items.0.id``), read with flux_recon.Fields."""

from __future__ import annotations

import re
from typing import Any

from flux_recon import Fields

MAX_PATH_LENGTH = 200
MAX_SEGMENTS = 16
# A segment of ASCII digits indexes into a list (when the value there is a list).
INDEX = re.compile(r"[0-9]{1,6}", re.ASCII)
_MISSING = object()


def check_path(text: Any) -> list[str]:
    """Why ``text`` is not a usable path, as messages (none when it is)."""
    if not isinstance(text, str):
        return ["must be a dotted path such as data.amount"]
    if not text.strip() or text != text.strip():
        return ["must be a dotted path such as data.amount, without surrounding spaces"]
    if len(text) > MAX_PATH_LENGTH:
        return [f"must be at most {MAX_PATH_LENGTH} characters"]
    parts = text.split(".")
    if len(parts) > MAX_SEGMENTS:
        return [f"must have at most {MAX_SEGMENTS} segments"]
    if any(not part for part in parts):
        return [f"{text!r} has an empty segment: write names separated by single dots, e.g. data.customer.email"]
    return []


def split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _step(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list) and INDEX.fullmatch(part) and int(part) < len(node):
        return node[int(part)]
    return _MISSING


def reader(payload: Any, path: str, errors: dict[str, list[str]]) -> tuple[Fields, str]:
    """A ``Fields`` over the object holding the last segment of ``path``, and that segment's
    name, so that ``Fields.text(name)`` and the others record errors under the whole path.

    A path that leads nowhere (a missing object, a scalar on the way, an index past the end
    of a list) reads as an absent field: ``is required`` when the field is required.
    """
    parts = split(path)
    prefix = ".".join(parts[:-1])
    node = payload
    for part in parts[:-1]:
        node = _step(node, part)
        if node is _MISSING:
            return Fields({}, prefix, errors), parts[-1]
    last = parts[-1]
    if isinstance(node, dict):
        return Fields(node, prefix, errors), last
    value = _step(node, last)
    return Fields({} if value is _MISSING else {last: value}, prefix, errors), last


def value_at(payload: Any, path: str) -> Any:
    """The value at ``path``, or None when the path leads nowhere."""
    node = payload
    for part in split(path):
        node = _step(node, part)
        if node is _MISSING:
            return None
    return node
