"""The adapter contract: the Provider base class, auth building blocks, the payload reader, PaymentNotice."""

from flux_recon.providers.auth import (
    AuthCheck,
    AuthContext,
    BodyFieldSignature,
    CredentialValue,
    HeaderHmac,
    IpAllowlist,
    secret_of,
)
from flux_recon.providers.base import CredentialField, Provider, ProviderRegistry, encode_json
from flux_recon.providers.errors import AuthFailure, AuthUnavailable, OptionsError, PayloadError
from flux_recon.providers.fields import Fields
from flux_recon.providers.notice import (
    Ignored,
    NoticeKind,
    NoticeStatus,
    Payer,
    PaymentMethod,
    PaymentNotice,
    Unrecognized,
)
from flux_recon.providers.options import OptionField
from flux_recon.providers.request import MalformedBody, WebhookRequest
from flux_recon.providers.times import utc_time

__all__ = [
    "AuthCheck",
    "AuthContext",
    "AuthFailure",
    "AuthUnavailable",
    "BodyFieldSignature",
    "CredentialField",
    "CredentialValue",
    "Fields",
    "HeaderHmac",
    "Ignored",
    "IpAllowlist",
    "MalformedBody",
    "NoticeKind",
    "NoticeStatus",
    "OptionField",
    "OptionsError",
    "Payer",
    "PaymentMethod",
    "PaymentNotice",
    "PayloadError",
    "Provider",
    "ProviderRegistry",
    "Unrecognized",
    "WebhookRequest",
    "encode_json",
    "secret_of",
    "utc_time",
]
