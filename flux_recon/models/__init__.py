"""peewee models, one module per aggregate; the schema itself ships as migrations/."""

from .audit import AuditEntry
from .base import BaseModel, db, utcnow
from .idempotency import IdempotencyRecord
from .integration import AllowedNetwork, Credential, Integration
from .order import ORDER_STATUSES, SalesOrder, reference_key
from .outbound import DELIVERY_STATUSES, Delivery, DeliveryAttempt, OutboundEvent, Subscription
from .payment import PAYMENT_STATUSES, RECONCILIATION_STATES, Allocation, Payment
from .tenant import ApiKey, Tenant
from .webhook_event import VERDICTS, WebhookEvent

# Creation order (foreign keys first); tests truncate in reverse.
ALL_MODELS = [
    Tenant,
    ApiKey,
    Integration,
    Credential,
    AllowedNetwork,
    SalesOrder,
    Payment,
    Allocation,
    WebhookEvent,
    AuditEntry,
    IdempotencyRecord,
    Subscription,
    OutboundEvent,
    Delivery,
    DeliveryAttempt,
]

__all__ = [
    "ALL_MODELS",
    "DELIVERY_STATUSES",
    "Delivery",
    "DeliveryAttempt",
    "OutboundEvent",
    "Subscription",
    "AllowedNetwork",
    "Allocation",
    "ApiKey",
    "AuditEntry",
    "BaseModel",
    "Credential",
    "IdempotencyRecord",
    "Integration",
    "ORDER_STATUSES",
    "PAYMENT_STATUSES",
    "Payment",
    "RECONCILIATION_STATES",
    "SalesOrder",
    "Tenant",
    "VERDICTS",
    "WebhookEvent",
    "db",
    "reference_key",
    "utcnow",
]
