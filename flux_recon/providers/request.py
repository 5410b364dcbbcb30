"""What an adapter is given for one webhook: raw bytes, headers, and the JSON read exactly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


class MalformedBody(ValueError):
    """The body is not valid JSON (HTTP 400)."""


def _refuse_constant(name: str):
    raise MalformedBody(f"{name} is not a valid JSON number")


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    # Two values for one key is how a signed-vs-parsed confusion attack starts: refuse it.
    result = {}
    for key, value in pairs:
        if key in result:
            raise MalformedBody(f"duplicate key {key!r} in JSON object")
        result[key] = value
    return result


def parse_json_exact(body: bytes) -> Any:
    """Parse JSON with every non-integer number as a Decimal, never a float."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("body is not valid UTF-8") from None
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_refuse_duplicate_keys,
        )
    except RecursionError:
        raise MalformedBody("JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


@dataclass
class WebhookRequest:
    """One inbound webhook as an adapter and its auth checks see it.

    ``body`` is the raw request body exactly as received (signatures are computed on it);
    ``headers`` is a case-insensitive mapping; ``payload`` parses the body on first use.
    """

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    _payload: Any = field(default=None, init=False, repr=False)
    _parsed: bool = field(default=False, init=False, repr=False)

    @property
    def payload(self) -> Any:
        """The body as JSON (numbers with a fraction are ``Decimal``); raises ``MalformedBody``."""
        if not self._parsed:
            self._payload = parse_json_exact(self.body)
            self._parsed = True
        return self._payload

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        if value is None and not hasattr(self.headers, "getlist"):
            # Plain dicts (tests, the CLI) are not case-insensitive; werkzeug's Headers are.
            lowered = name.lower()
            value = next((v for k, v in self.headers.items() if k.lower() == lowered), None)
        return value
