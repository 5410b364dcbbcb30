"""What an adapter is given for one webhook: raw bytes, headers, and the JSON read exactly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flux_recon.exact_json import JSONInputError, loads_exact


class MalformedBody(ValueError):
    """The body is not valid JSON (HTTP 400)."""


def parse_json_exact(body: bytes) -> Any:
    """Parse JSON with every non-integer number as a Decimal, never a float."""
    try:
        return loads_exact(body)
    except JSONInputError as exc:
        raise MalformedBody(str(exc)) from None


@dataclass
class WebhookRequest:
    """One inbound webhook as an adapter and its auth checks see it.

    ``body`` is the raw request body exactly as received (signatures are computed on it);
    ``headers`` is a case-insensitive mapping; ``payload`` parses the body on first use;
    ``options`` are the integration's provider options, defaults filled in.
    """

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
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
