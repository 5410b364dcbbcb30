"""Integration options a provider declares: non-secret settings a merchant chooses per integration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flux_recon.providers.errors import OptionsError


@dataclass(frozen=True)
class OptionField:
    """One option of a provider's integrations.

    ``choices`` limits a text option to those values; ``default`` applies when the merchant
    never set it (``None``: the option is unset). Secrets never go here: declare them as
    credentials, which are stored encrypted and never shown again.
    """

    name: str
    title: str
    default: Any = None
    choices: tuple[str, ...] = ()
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "default": self.default,
            "choices": list(self.choices),
            "description": self.description,
        }

    def check(self, value: Any) -> list[str]:
        """Why ``value`` is not acceptable, as messages (none when it is)."""
        if value is None:
            return []
        if not isinstance(value, str):
            return ["must be a string"]
        if self.choices and value not in self.choices:
            return [f"must be one of: {', '.join(self.choices)}"]
        return []


def validate_declared(fields: tuple[OptionField, ...], options: Any) -> dict[str, Any]:
    """``options`` checked against ``fields``: every unknown name and bad value named at
    once, as OptionsError; returns the options with every declared one present."""
    if not isinstance(options, Mapping):
        raise OptionsError("options must be a JSON object", {"options": ["must be a JSON object"]})
    declared = {option.name: option for option in fields}
    errors: dict[str, list[str]] = {}
    for name in options:
        if name not in declared:
            known = ", ".join(declared) or "none"
            errors[name] = [f"unknown option; this provider's options: {known}"]
    for name, option in declared.items():
        messages = option.check(options.get(name))
        if messages:
            errors[name] = messages
    if errors:
        raise OptionsError("invalid integration options", errors)
    return {name: options.get(name, option.default) for name, option in declared.items()}


def with_defaults(fields: tuple[OptionField, ...], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options a webhook sees: what was saved, each missing one at its default."""
    stored = stored or {}
    return {option.name: stored.get(option.name, option.default) for option in fields} | dict(stored)
