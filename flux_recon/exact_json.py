"""Reading JSON exactly: numbers as Decimal, no NaN, no duplicate keys, only storable strings."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class JSONInputError(ValueError):
    """The bytes are not JSON this service can take exactly."""


def _refuse_constant(name: str):
    raise JSONInputError(f"{name} is not a valid JSON number")


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    # Two values for one key is how a signed-vs-parsed confusion attack starts: refuse it.
    result = {}
    for key, value in pairs:
        if key in result:
            raise JSONInputError(f"duplicate key {key[:40]!r} in JSON object")
        result[key] = value
    return result


def _check_strings(value: Any) -> None:
    """Refuse NUL characters (PostgreSQL cannot store them) and lone surrogates (no
    UTF-8 encoding exists for them) anywhere in the document, keys included."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise JSONInputError("strings may not contain NUL characters")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise JSONInputError("strings may not contain unpaired surrogates") from None


def loads_exact(data: str | bytes) -> Any:
    """Parse JSON text or UTF-8 bytes; raises JSONInputError with a reason a sender can act on."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONInputError("body is not valid UTF-8") from None
    try:
        value = json.loads(
            data, parse_float=Decimal, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicate_keys
        )
    except RecursionError:
        raise JSONInputError("JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # e.g. an integer longer than Python will convert
        raise JSONInputError(f"malformed JSON: {exc}") from None
    _check_strings(value)
    return value
