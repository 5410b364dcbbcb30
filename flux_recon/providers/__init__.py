"""The adapter contract: the Provider base class, auth building blocks, PaymentNotice."""

from .auth import (
    AuthCheck,
    AuthContext,
    BodyFieldSignature,
    CredentialValue,
    HeaderHmac,
    IpAllowlist,
    secret_of,
)
from .base import CredentialField, Provider, ProviderRegistry, encode_json
from .errors import AuthFailure, PayloadError
from .notice import Ignored, NoticeKind, NoticeStatus, Payer, PaymentMethod, PaymentNotice
from .request import MalformedBody, WebhookRequest
from .times import utc_time

__all__ = [
    "AuthCheck",
    "AuthContext",
    "AuthFailure",
    "BodyFieldSignature",
    "CredentialField",
    "CredentialValue",
    "HeaderHmac",
    "Ignored",
    "IpAllowlist",
    "MalformedBody",
    "NoticeKind",
    "NoticeStatus",
    "Payer",
    "PaymentMethod",
    "PaymentNotice",
    "PayloadError",
    "Provider",
    "ProviderRegistry",
    "WebhookRequest",
    "encode_json",
    "secret_of",
    "utc_time",
]
