"""What a broadcast is, shared by its service and its storage: content, audience, progress."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Segment(StrEnum):
    ALL = "all"
    RECENT_BUYERS = "recent"  # placed an order in the last 30 days
    LANGUAGE = "language"
    WALLET = "wallet"  # holds money in their shop wallet


class BroadcastState(StrEnum):
    RUNNING = "running"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Content:
    """What the admin wrote: HTML text (a caption under ``photo`` if set), one optional URL
    button. JSON-serialisable, so the conversation can keep it in FSM data."""

    html: str
    photo: str | None = None
    button_label: str | None = None
    button_url: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "html": self.html,
            "photo": self.photo,
            "button_label": self.button_label,
            "button_url": self.button_url,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Content:
        return cls(
            html=str(data["html"]),
            photo=data.get("photo"),
            button_label=data.get("button_label"),
            button_url=data.get("button_url"),
        )


@dataclass(frozen=True, slots=True)
class Audience:
    segment: Segment
    language: str | None = None  # for Segment.LANGUAGE


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    sent: int
    blocked: int
    failed: int

    @property
    def left(self) -> int:
        return self.total - self.sent - self.blocked - self.failed


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    admin_id: int
    content: Content
    state: BroadcastState
    progress_chat_id: int | None
    progress_message_id: int | None
