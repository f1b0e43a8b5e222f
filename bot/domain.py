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


class OrderField(StrEnum):
    """The fields of an `add` request besides `service`: the wizard's questions, the names its
    texts are keyed by, and the request's parameters, spelt once."""

    LINK = "link"
    QUANTITY = "quantity"
    RUNS = "runs"
    INTERVAL = "interval"
    COMMENTS = "comments"
    USERNAMES = "usernames"
    HASHTAGS = "hashtags"
    HASHTAG = "hashtag"
    USERNAME = "username"
    MEDIA = "media"
    ANSWER_NUMBER = "answer_number"
    GROUPS = "groups"
    MIN = "min"
    MAX = "max"
    POSTS = "posts"
    OLD_POSTS = "old_posts"
    DELAY = "delay"
    EXPIRY = "expiry"
    COUNTRY = "country"
    DEVICE = "device"
    TYPE_OF_TRAFFIC = "type_of_traffic"
    GOOGLE_KEYWORD = "google_keyword"
    REFERRING_URL = "referring_url"
