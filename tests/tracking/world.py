"""Tracking and notifications over the real wire: the panel simulator behind a real PanelClient,
the fake Bot API behind a real aiogram Bot, and a real database file."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiogram import Bot

from bot.i18n import CatalogI18n
from bot.panel.client import PanelClient
from bot.panel.models import NewOrder
from bot.sandbox.chats import ChatMessage
from bot.sandbox.simulator import PanelSimulator
from bot.services.accounts import SHARED_LABEL, AccountResolver
from bot.services.delivery import OutboundQueue
from bot.services.notifying import Notifier
from bot.services.tracking import OrderTracker
from bot.storage import (
    Database,
    KeyRepository,
    OrderRepository,
    OrderRow,
    RefillRepository,
    RefillRow,
    UserRepository,
)
from bot.telegram.sender import make_bot_sender
from bot.views.notifications import NotificationViews
from tests.fakes.telegram import FakeTelegram

SHARED_KEY = "tracking-shared-key-0123456789"
OTHER_KEY = "tracking-other-key-9876543210"
ALICE = 101
BOB = 102
ADMIN = 900
BASE = 10.0
MAX = 80.0
SERVICE = 1  # the simulator's "Instagram Followers [Max 10K] ⚡": refill enabled, rate 0.90
SERVICE_NAME = "Instagram Followers [Max 10K] ⚡"


class Clock:
    """The tracker's clock, moved by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class World:
    sim: PanelSimulator
    client: PanelClient
    db: Database
    orders: OrderRepository
    refills: RefillRepository
    users: UserRepository
    keys: KeyRepository
    tg: FakeTelegram
    bot: Bot
    i18n: CatalogI18n
    clock: Clock
    panel_keys: list[tuple[str, str]]  # (action, key) of every panel request, in order
    queues: list[OutboundQueue] = field(default_factory=list)
    notifier: Notifier | None = None

    async def new_notifier(self, *, start: bool = True) -> Notifier:
        """A notifier with its own outbound queue, as after a (re)start of the bot."""
        queue = OutboundQueue(
            make_bot_sender(self.bot),
            on_blocked=lambda chat_id: self.users.set_blocked(chat_id, True),
            retry_backoff=0.01,
        )
        notifier = Notifier(
            self.orders, self.refills, self.users, queue, NotificationViews(self.i18n)
        )
        self.queues.append(queue)
        if start:
            await queue.start()
        self.notifier = notifier
        return notifier

    @property
    def queue(self) -> OutboundQueue:
        return self.queues[-1]

    def tracker(self, shared_key: str | None = SHARED_KEY, **options: Any) -> OrderTracker:
        options.setdefault("base_interval", BASE)
        options.setdefault("max_interval", MAX)
        options.setdefault("clock", self.clock)
        if self.notifier is not None:
            options.setdefault("on_changes", self.notifier.flush)
        return OrderTracker(
            self.orders,
            self.refills,
            AccountResolver(self.client, self.keys, shared_key),
            **options,
        )

    async def person(self, user_id: int, language: str | None = "en") -> None:
        await self.users.set_language(user_id, language)

    async def place(
        self,
        owner: int = ALICE,
        *,
        count: int = 1,
        key: str = SHARED_KEY,
        account: str = SHARED_LABEL,
        quantity: int = 100,
        first_poll_in: float = 0.0,
    ) -> list[OrderRow]:
        """Orders placed on the simulator through the client and recorded as the bot does."""
        placed = []
        for _ in range(count):
            link = "https://instagram.com/p/tracking"
            panel_id = await self.client.add(
                key, NewOrder(service=SERVICE, link=link, quantity=quantity)
            )
            placed.append(
                await self.record(
                    owner,
                    panel_id,
                    account=account,
                    quantity=quantity,
                    first_poll_in=first_poll_in,
                )
            )
        return placed

    async def record(
        self,
        owner: int,
        panel_id: int,
        *,
        account: str = SHARED_LABEL,
        quantity: int = 100,
        first_poll_in: float = 0.0,
    ) -> OrderRow:
        """An order the bot believes the panel has under `panel_id`, due `first_poll_in` from
        now (the bot itself first asks one base interval after placing)."""
        intent = await self.orders.create_intent(
            intent_token=uuid.uuid4().hex,
            owner_id=owner,
            account=account,
            service_id=SERVICE,
            service_name=SERVICE_NAME,
            service_type="Default",
            rate=Decimal("0.90"),
            link="https://instagram.com/p/tracking",
            quantity=quantity,
            extra={},
            price=Decimal("0.90") * quantity / 1000,
            currency=None,
            refillable=True,
            cancelable=True,
        )
        assert intent is not None
        await self.orders.mark_placed(
            intent.id, panel_id, first_poll_at=self.clock.now + first_poll_in, poll_interval=BASE
        )
        return await self.order(intent.id)

    async def end(self, local_id: int, status: str, *, remains: int = 0) -> bool:
        """The order ends outside the tracker (a cancel, a refresh): `status` stored as final,
        as the bot stores it; True if its status changed."""
        return await self.orders.apply_status(
            local_id,
            status=status,
            remains=remains,
            start_count=0,
            charge=None,
            currency=None,
            final=True,
            next_poll_at=None,
            poll_interval=None,
            now=self.clock.now,
        )

    async def order(self, local_id: int) -> OrderRow:
        order = await self.orders.get(local_id)
        assert order is not None
        return order

    async def refill(self, local_id: int) -> RefillRow:
        refill = await self.refills.get(local_id)
        assert refill is not None
        return refill

    async def delivered(self) -> None:
        """Wait until every message of the current queue was sent or given up."""
        await self.queue.join()

    def chat(self, chat_id: int) -> list[ChatMessage]:
        """The bot's messages as the person sees them."""
        return self.tg.transcript(chat_id)

    def send_attempts(self, chat_id: int) -> int:
        return len([c for c in self.tg.calls_of("sendMessage") if c.chat_id == chat_id])

    def panel_requests(self, action: str) -> list[dict[str, str]]:
        return [form for name, form in self.sim.requests if name == action]
