"""The words every layer shares about an order: where its placement stands, what its status is.

A plain module with no imports of the bot's own, so storage, the panel client, services and
views can all compare against the same enums without an import running back up.
"""

from __future__ import annotations

from enum import StrEnum


class Placement(StrEnum):
    """Whether the panel has the order: the outcome of the `add` request."""

    PENDING = "pending"  # intent recorded, `add` not answered yet
    PLACED = "placed"  # the panel answered with an order id
    UNKNOWN = "unknown"  # the answer was lost: the panel may or may not have it
    FAILED = "failed"  # not placed: see FailureKind


class Status(StrEnum):
    """A panel's order or refill status, once its spelling is normalised (`canonical_status`)."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    PROCESSING = "processing"
    ACTIVE = "active"
    COMPLETED = "completed"
    PARTIAL = "partial"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    FAIL = "fail"
    ERROR = "error"
    REJECTED = "rejected"
