"""The provider adapter contract: what a plugin declares, and the registry the app keeps."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from flux_recon.providers.auth import AuthCheck, BodyFieldSignature, CredentialValue, HeaderHmac, IpAllowlist
from flux_recon.providers.notice import Ignored, PaymentNotice, Unrecognized
from flux_recon.providers.options import OptionField, validate_declared, with_defaults
from flux_recon.providers.request import WebhookRequest

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
    a valid notice; return :class:`~flux_recon.Ignored` only for an event type declared to
    carry no money, and :class:`~flux_recon.Unrecognized` for a type or shape it does not
    know. ``webhook.options`` holds the integration's ``option_fields`` values.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    auth: ClassVar[tuple[AuthCheck, ...]] = ()
    credentials: ClassVar[tuple[CredentialField, ...]] = ()
    default_allowlist: ClassVar[tuple[str, ...]] = ()
    # Every event type the adapter knows, with what it carries: "payment", "refund",
    # "reversal", "settlement", or "no_money" (the only ones parse may answer Ignored).
    # Anything else is Unrecognized. Listed in GET /providers and the plugin's README.
    event_types: ClassVar[Mapping[str, str]] = {}
    # Non-secret settings chosen per integration (an API generation, a verification mode).
    option_fields: ClassVar[tuple[OptionField, ...]] = ()
    # The answer to an authenticated webhook the adapter does not recognise: 200 stops the
    # provider resending what a retry would not fix; a provider whose retries are useful
    # (it resends later, after the plugin is updated) may declare 422.
    unrecognized_status: ClassVar[int] = 200

    def parse(self, webhook: WebhookRequest) -> list[PaymentNotice] | Ignored | Unrecognized:
        raise NotImplementedError

    @classmethod
    def validate_options(cls, options: Any) -> dict[str, Any]:
        """Check options a merchant saves for an integration; returns what is stored.

        Raises :class:`~flux_recon.OptionsError` naming each bad option. The default checks
        ``option_fields``; a provider with a richer configuration overrides it.
        """
        return validate_declared(cls.option_fields, options)

    @classmethod
    def resolve_options(cls, stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """The options a webhook of an integration sees: what it saved, defaults for the rest."""
        return with_defaults(cls.option_fields, stored)

    @classmethod
    def sample_payloads(cls) -> dict[str, Any]:
        """Realistic example payloads by name, for docs, tests and ``send-test-webhook``."""
        return {}

    @classmethod
    def sign(cls, payload: Any, secrets: Mapping[str, str]) -> WebhookRequest:
        """The webhook exactly as the provider would send ``payload`` to an integration
        holding ``secrets``: for the conformance kit, ``flux-recon send-test-webhook`` and tests.

        :param payload: a JSON document (written with :func:`encode_json`) or the raw body bytes.
        :param secrets: secret values by credential field name, e.g. ``{"secret_key": "sk_test_..."}``.
        :returns: a ``WebhookRequest`` with the body and headers to send.

        Each check in ``auth`` signs in order. ``HeaderHmac`` and ``BodyFieldSignature`` sign
        themselves and ``IpAllowlist`` adds nothing; a custom ``AuthCheck`` signs with its
        ``sign(webhook, credentials) -> WebhookRequest`` method. A check with no secret in
        ``secrets`` leaves the request unsigned (its verification will decide).
        """
        body = payload if isinstance(payload, bytes) else encode_json(payload)
        webhook = WebhookRequest(body=body, headers={"Content-Type": "application/json"})
        credentials = cls.credential_values(secrets)
        for check in cls.auth:
            webhook = _sign_with(check, webhook, credentials)
        return webhook

    @classmethod
    def credential_values(cls, secrets: Mapping[str, str]) -> tuple[CredentialValue, ...]:
        """``secrets`` (values by credential field name) as the integration's credentials,
        the way auth checks receive them in ``AuthContext.credentials``."""
        fields = [field.name for field in cls.credentials]
        unknown = [name for name in secrets if name not in fields]
        if unknown:
            raise ValueError(
                f"provider {cls.name!r} has no credential named {', '.join(map(repr, unknown))}; "
                f"its credentials: {', '.join(fields) or 'none'}"
            )
        return tuple(
            CredentialValue(id=number, name=name, secret=value)
            for number, (name, value) in enumerate(secrets.items(), start=1)
        )

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
            "options": [option.describe() for option in cls.option_fields],
            "event_types": dict(cls.event_types),
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
        for cidr in provider_class.default_allowlist:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                # Caught at startup, not when a merchant first enables the integration.
                raise ValueError(f"{provider_class.__name__}.default_allowlist: {exc}") from None
        self._providers[name] = provider_class()

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def __iter__(self):
        return iter(sorted(self._providers.values(), key=lambda p: p.name))

    def __contains__(self, name: str) -> bool:
        return name in self._providers


def encode_json(document: Any) -> bytes:
    """Write a JSON document as compact UTF-8 bytes, every ``Decimal`` exactly as it is
    (``Decimal("15000.50")`` stays ``15000.50``); floats, NaN and non-string keys are refused."""
    return _json_text(document).encode("utf-8")


def _json_text(value: Any) -> str:
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}")
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json_text(item) for item in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return json.dumps(value, ensure_ascii=False)
    # A float has already lost the exact amount: money in a payload is a string, int or Decimal.
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as exact JSON")


def _sign_with(check: AuthCheck, webhook: WebhookRequest, credentials: tuple[CredentialValue, ...]):
    own = getattr(check, "sign", None)
    if callable(own):
        return own(webhook, credentials)
    if isinstance(check, IpAllowlist):
        return webhook  # the address is the sender's, not something the request carries
    if isinstance(check, HeaderHmac):
        return _sign_header(check, webhook, credentials)
    if isinstance(check, BodyFieldSignature):
        return _sign_body_field(check, webhook, credentials)
    raise NotImplementedError(
        f"{type(check).__name__} cannot sign a request: give it a "
        "sign(webhook, credentials) -> WebhookRequest method (see docs/plugins.md, AuthCheck)"
    )


def _mac(check, key: bytes, message: bytes) -> str:
    digest = hmac.new(key, message, getattr(hashlib, check.digest)).digest()
    return base64.b64encode(digest).decode() if check.encoding == "base64" else digest.hex()


def _sign_header(check: HeaderHmac, webhook: WebhookRequest, credentials) -> WebhookRequest:
    keys = list(check.keys(credentials))
    if not keys:
        return webhook
    headers = {name: value for name, value in webhook.headers.items() if name.lower() != check.header.lower()}
    headers[check.header] = _mac(check, keys[0][1], webhook.body)
    return WebhookRequest(body=webhook.body, headers=headers)


def _sign_body_field(check: BodyFieldSignature, webhook: WebhookRequest, credentials) -> WebhookRequest:
    keys = list(check.keys(credentials))
    if not keys:
        return webhook
    if check.message is None:
        # Verification would need an HMAC of a body that already contains that HMAC.
        raise ValueError(
            f"BodyFieldSignature({check.field!r}) has no message=: a body field cannot sign the raw body holding it"
        )
    payload = webhook.payload
    if not isinstance(payload, dict):
        raise ValueError(f"a body-field signature ({check.field}) needs a JSON object body")
    unsigned = {name: value for name, value in payload.items() if name != check.field}
    signed = dict(payload)  # keeps the field where the sample had it
    signed[check.field] = _mac(check, keys[0][1], check.message(unsigned))
    return WebhookRequest(body=encode_json(signed), headers=dict(webhook.headers))
