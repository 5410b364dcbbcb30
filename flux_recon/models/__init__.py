"""peewee models, one module per aggregate; the schema itself ships as migrations/."""

from flux_recon.models.audit import AuditEntry
from flux_recon.models.base import BaseModel, db, utcnow
from flux_recon.models.console import ConsoleSession, ConsoleUser, Invitation, RecoveryCode
from flux_recon.models.exception_decision import ExceptionDecision, SuggestionDecline
from flux_recon.models.idempotency import IdempotencyRecord
from flux_recon.models.inbox import VERDICTS, WebhookEvent
from flux_recon.models.integration import AllowedNetwork, Credential, Integration
from flux_recon.models.order import ORDER_STATUSES, SalesOrder, reference_key
from flux_recon.models.outbound import DELIVERY_STATUSES, Delivery, DeliveryAttempt, OutboundEvent, Subscription
from flux_recon.models.payment import PAYMENT_STATUSES, RECONCILIATION_STATES, Allocation, Payment, PaymentMatchKey
from flux_recon.models.reconciliation_run import ReconciliationRun, ReconciliationRunChange
from flux_recon.models.settlement import Settlement, SettlementBreak, SettlementLine, StatementMapping
from flux_recon.models.settlement_pull import SettlementPull
from flux_recon.models.tenant import ApiKey, Tenant

# Creation order (foreign keys first); tests truncate in reverse.
ALL_MODELS = [
    Tenant,
    ApiKey,
    Integration,
    Credential,
    AllowedNetwork,
    SalesOrder,
    Payment,
    PaymentMatchKey,
    Allocation,
    WebhookEvent,
    AuditEntry,
    IdempotencyRecord,
    Subscription,
    OutboundEvent,
    Delivery,
    DeliveryAttempt,
    ReconciliationRun,
    ReconciliationRunChange,
    Settlement,
    SettlementLine,
    StatementMapping,
    SettlementPull,
    ExceptionDecision,
    SuggestionDecline,
    ConsoleUser,
    ConsoleSession,
    RecoveryCode,
    Invitation,
]

__all__ = [
    "ALL_MODELS",
    "DELIVERY_STATUSES",
    "Delivery",
    "DeliveryAttempt",
    "ExceptionDecision",
    "SuggestionDecline",
    "OutboundEvent",
    "Subscription",
    "AllowedNetwork",
    "Allocation",
    "ApiKey",
    "AuditEntry",
    "BaseModel",
    "ConsoleSession",
    "ConsoleUser",
    "Invitation",
    "RecoveryCode",
    "Credential",
    "IdempotencyRecord",
    "Integration",
    "ORDER_STATUSES",
    "PAYMENT_STATUSES",
    "Payment",
    "PaymentMatchKey",
    "RECONCILIATION_STATES",
    "ReconciliationRun",
    "ReconciliationRunChange",
    "SalesOrder",
    "Settlement",
    "SettlementBreak",
    "SettlementLine",
    "SettlementPull",
    "StatementMapping",
    "Tenant",
    "VERDICTS",
    "WebhookEvent",
    "db",
    "reference_key",
    "utcnow",
]
