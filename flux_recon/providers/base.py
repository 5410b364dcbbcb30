"""The provider adapter contract: what a plugin declares, and the registry the app keeps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from .auth import AuthCheck
from .notice import Ignored, PaymentNotice
from .request import WebhookRequest

PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class CredentialField:
    """A credential an integration of this provider needs.

    ``generated`` credentials (an API key and secret) are made by this service and shown
    once; supplied ones are secrets the merchant copies from the provider's dashboard.
    """

    name: str
    title: str
    generated: bool = False
    required: bool = True
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "generated": self.generated,
            "required": self.required,
            "description": self.description,
        }


class Provider:
    """Base class of a provider adapter. Subclass it and declare the class attributes.

    ``parse`` is a pure mapping from one webhook to canonical notices: no I/O, no
    database, no clock. Raise :class:`~flux_recon.PayloadError` for a payload that is not
    a valid notice; return :class:`~flux_recon.Ignored` for an event with no payment.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    auth: ClassVar[tuple[AuthCheck, ...]] = ()
    credentials: ClassVar[tuple[CredentialField, ...]] = ()
    default_allowlist: ClassVar[tuple[str, ...]] = ()

    def parse(self, webhook: WebhookRequest) -> list[PaymentNotice] | Ignored:
        raise NotImplementedError

    @classmethod
    def sample_payloads(cls) -> dict[str, Any]:
        """Realistic example payloads by name, for docs, tests and ``send-test-webhook``."""
        return {}

    @classmethod
    def sensitive_headers(cls) -> tuple[str, ...]:
        return tuple(h for check in cls.auth for h in check.sensitive_headers)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "title": cls.title,
            "description": cls.description,
            "auth": [check.describe() for check in cls.auth],
            "credentials": [c.describe() for c in cls.credentials],
            "default_allowlist": list(cls.default_allowlist),
        }


class ProviderRegistry:
    """The providers registered by plugins, by name. One per app."""

    def __init__(self):
        self._providers: dict[str, Provider] = {}

    def register(self, provider_class: type[Provider]) -> None:
        """Validate and add one ``Provider`` subclass; passed to the register hook."""
        if not (isinstance(provider_class, type) and issubclass(provider_class, Provider)):
            raise TypeError(f"{provider_class!r} is not a subclass of flux_recon.Provider")
        name = getattr(provider_class, "name", None)
        if not isinstance(name, str) or not PROVIDER_NAME.match(name):
            raise ValueError(f"{provider_class.__name__}.name must be a URL-safe slug, got {name!r}")
        if name in self._providers:
            raise ValueError(f"provider name {name!r} is registered twice")
        if not all(isinstance(check, AuthCheck) for check in provider_class.auth):
            raise TypeError(f"{provider_class.__name__}.auth must be a tuple of AuthCheck instances")
        self._providers[name] = provider_class()

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def __iter__(self):
        return iter(sorted(self._providers.values(), key=lambda p: p.name))

    def __contains__(self, name: str) -> bool:
        return name in self._providers
