"""8x8 delivery receipts: typed webhook bodies, a receiver, a durable store, reconcile.

The loop this package closes: a LINE send whose answer was lost ends ``unknown``;
8x8 still POSTs a delivery receipt for every message it took to the account's
webhook; ``ReceiptReceiver`` (or ``create_receipt_app``) stores each one durably
(``SQLiteReceiptStore``, or any ``ReceiptStore``) before acknowledging it; and
``reconcile`` turns each ``unknown`` message into ``accepted`` or ``rejected`` from the
stored receipts, without sending anything again.
"""

from .models import (
    SUPPORTED_VERSIONS,
    DeliveryReceipt,
    EventType,
    ReceiptDecodeError,
    ReceiptDetail,
    ReceiptPayload,
    ReceiptStatus,
    WebhookEvent,
    WhatsAppInfo,
    decode_webhook,
    state_rank,
)
from .receiver import (
    AUTHORIZATION_ENV,
    DEFAULT_MAX_BODY_SIZE,
    RECEIVER_KEY,
    EventCallback,
    ReceiptCallback,
    ReceiptReceiver,
    create_receipt_app,
)
from .reconcile import (
    DEFAULT_POLL_INTERVAL,
    NO_RECEIPT,
    ReconciledMessage,
    ReconcileItem,
    Reconciliation,
    reconcile,
)
from .store import (
    DEFAULT_SYNCHRONOUS,
    ReceiptRecord,
    ReceiptStore,
    SQLiteReceiptStore,
    Synchronous,
)

__all__ = [
    "AUTHORIZATION_ENV",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_SYNCHRONOUS",
    "NO_RECEIPT",
    "RECEIVER_KEY",
    "SUPPORTED_VERSIONS",
    "DeliveryReceipt",
    "EventCallback",
    "EventType",
    "ReceiptCallback",
    "ReceiptDecodeError",
    "ReceiptDetail",
    "ReceiptPayload",
    "ReceiptReceiver",
    "ReceiptRecord",
    "ReceiptStatus",
    "ReceiptStore",
    "ReconcileItem",
    "ReconciledMessage",
    "Reconciliation",
    "SQLiteReceiptStore",
    "Synchronous",
    "WebhookEvent",
    "WhatsAppInfo",
    "create_receipt_app",
    "decode_webhook",
    "reconcile",
    "state_rank",
]
