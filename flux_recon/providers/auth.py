"""Auth building blocks a provider declares: IP allow-list, header HMAC, body-field signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flux_recon.core.states import Verdict
from flux_recon.providers.errors import AuthFailure
from flux_recon.providers.request import WebhookRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CredentialValue:
    """A decrypted credential of the integration, handed to auth checks only.

    ``name`` is the provider's credential field (``"api"`` for generated API
    credentials, ``"client_secret"`` for a supplied one); ``key`` is the public half of a
    generated credential (the API key), ``secret`` the secret half.
    """

    id: int
    name: str
    secret: str
    key: str | None = None


@dataclass(frozen=True)
class AuthContext:
    """What the integration knows when a webhook arrives: who sent it and what it may check."""

    client_ip: IPAddress
    allowlist: tuple[IPNetwork, ...] = ()
    credentials: tuple[CredentialValue, ...] = ()
    # The integration's provider options (Provider.option_fields), defaults filled in.
    options: Mapping[str, Any] = field(default_factory=dict)


# A key source picks, from the integration's credentials, the HMAC keys to try.
KeySource = Callable[[tuple[CredentialValue, ...]], Iterable[tuple[CredentialValue, bytes]]]


def secret_of(name: str) -> KeySource:
    """Key source: the secret of every active credential named ``name``."""

    def keys(credentials):
        return [(c, c.secret.encode()) for c in credentials if c.name == name]

    return keys


class AuthCheck:
    """Base class of an auth check. Subclass it for a scheme the building blocks lack.

    ``verify`` returns the credential that verified the request (or ``None`` when no
    credential is involved) and raises :class:`AuthFailure` to refuse it.
    """

    #: Request headers this check reads whose values are secret-bearing: the inbox keeps
    #: only a redacted form of them.
    sensitive_headers: tuple[str, ...] = ()

    def verify(self, request: WebhookRequest, context: AuthContext) -> CredentialValue | None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """A JSON-able description for ``GET /providers`` and the docs."""
        return {"type": type(self).__name__}


def normalize_ip(address: IPAddress) -> IPAddress:
    """Treat an IPv4-mapped IPv6 peer (``::ffff:1.2.3.4``) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class IpAllowlist(AuthCheck):
    """The client address must be inside one of the integration's allowed networks.

    An empty allow-list admits nobody. Refusal is HTTP 403.
    """

    def verify(self, request, context):
        client = normalize_ip(context.client_ip)
        if not any(client in network for network in context.allowlist):
            raise AuthFailure(
                f"address {client} is not on this integration's allow-list",
                status=403,
                verdict=Verdict.REJECTED_ADDRESS,
            )
        return None

    def describe(self):
        return {"type": "ip_allowlist"}


def _mac(digest: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, getattr(hashlib, digest)).digest()


def _encode(mac: bytes, encoding: str) -> bytes:
    return base64.b64encode(mac) if encoding == "base64" else mac.hex().encode()


def _matches(provided: str, expected: bytes, encoding: str) -> bool:
    if encoding == "hex":
        provided = provided.lower()
    try:
        candidate = provided.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(candidate, expected)


class _SignatureCheck(AuthCheck):
    """Shared logic of the HMAC checks: try every candidate key in constant time."""

    def __init__(self, *, digest: str, encoding: str, keys: KeySource, required: bool):
        if encoding not in ("hex", "base64"):
            raise ValueError("encoding must be 'hex' or 'base64'")
        if not hasattr(hashlib, digest):
            raise ValueError(f"unknown digest {digest!r}")
        self.digest = digest
        self.encoding = encoding
        self.keys = keys
        self.required = required

    def _verify_signature(self, provided: str | None, message: Callable[[], bytes], context, where: str):
        keys = list(self.keys(context.credentials))
        if not keys and not self.required:
            return None  # optional check with no secret configured yet: not enforced
        if not keys:
            raise AuthFailure("no credential is configured to verify this provider's signature")
        if not provided:
            raise AuthFailure(f"missing signature ({where})")
        signed = message()
        for credential, key in keys:
            if _matches(provided, _encode(_mac(self.digest, key, signed), self.encoding), self.encoding):
                return credential
        raise AuthFailure(f"signature ({where}) does not match")


class HeaderHmac(_SignatureCheck):
    """A header carries HMAC(key, raw body), hex or Base64 encoded.

    :param header: header name, e.g. ``"Signature"``.
    :param digest: a ``hashlib`` name: ``"sha256"``, ``"sha512"``, ``"sha3_512"``.
    :param encoding: ``"base64"`` or ``"hex"`` (hex is compared case-insensitively).
    :param keys: which credentials' secrets to try (default: the one named ``"api"``).
    :param required: if False the check is enforced only once a key is configured.
    """

    def __init__(
        self,
        header: str,
        digest: str = "sha256",
        encoding: str = "base64",
        *,
        keys: KeySource | None = None,
        required: bool = True,
    ):
        super().__init__(digest=digest, encoding=encoding, keys=keys or secret_of("api"), required=required)
        self.header = header
        self.sensitive_headers = (header,)

    def verify(self, request, context):
        return self._verify_signature(
            request.header(self.header), lambda: request.body, context, f"header {self.header}"
        )

    def describe(self):
        return {
            "type": "header_hmac",
            "header": self.header,
            "digest": self.digest,
            "encoding": self.encoding,
            "required": self.required,
        }


class BodyFieldSignature(_SignatureCheck):
    """A field of the JSON body carries HMAC(key, message(payload)).

    :param field: the body field holding the signature, e.g. ``"sha512"``.
    :param message: builds the signed bytes from the parsed payload (the provider's
        documented template); default: the raw body.
    """

    def __init__(
        self,
        field: str,
        digest: str = "sha512",
        *,
        message: Callable[[Any], bytes] | None = None,
        encoding: str = "hex",
        keys: KeySource | None = None,
        required: bool = True,
    ):
        super().__init__(digest=digest, encoding=encoding, keys=keys or secret_of("api"), required=required)
        self.field = field
        self.message = message

    def verify(self, request, context):
        payload = request.payload
        provided = payload.get(self.field) if isinstance(payload, dict) else None
        if provided is not None and not isinstance(provided, str):
            raise AuthFailure(f"signature field {self.field!r} is not a string")
        return self._verify_signature(
            provided, lambda: self._signed_bytes(payload, request.body), context, f"body field {self.field}"
        )

    def _signed_bytes(self, payload, body: bytes) -> bytes:
        if self.message is None:
            return body
        try:
            return self.message(payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            # The payload lacks what the signature covers: it cannot be verified.
            raise AuthFailure(f"the payload lacks the fields its signature ({self.field}) covers") from None

    def describe(self):
        return {
            "type": "body_field_signature",
            "field": self.field,
            "digest": self.digest,
            "encoding": self.encoding,
            "required": self.required,
        }
