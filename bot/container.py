"""The services the bot runs on, built once by the factory and typed in one place.

Handlers receive them by name (bot.middlewares.services hands them to the chosen handler,
and aiogram passes each by parameter name): the names are the fields of `Injected`, so a
handler's parameters and this class cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from bot.config import Settings
from bot.i18n import CatalogI18n
from bot.panel.client import PanelClient
from bot.services.accounts import AccountResolver
from bot.services.broadcast import Broadcaster
from bot.services.catalog import CatalogService
from bot.services.delivery import OutboundQueue
from bot.services.maintenance import Maintenance
from bot.services.notifying import Notifier
from bot.services.ordering import OrderService
from bot.services.people import People
from bot.services.referrals import Referrals
from bot.services.shop import ShopService
from bot.services.topups import TopupService
from bot.services.tracking import OrderTracker
from bot.shared.connection import SharedRedis
from bot.storage import Database, KeyRepository, OrderRepository, RefillRepository, UserRepository
from bot.storage.console import OrderStats
from bot.storage.wallets import WalletRepository


@dataclass(frozen=True, slots=True)
class Injected:
    """What handlers and middlewares may ask for by name."""

    settings: Settings
    accounts: AccountResolver
    catalog: CatalogService
    ordering: OrderService
    orders: OrderRepository
    users: UserRepository
    keys: KeyRepository
    broadcaster: Broadcaster
    maintenance: Maintenance
    order_stats: OrderStats
    people: People
    referrals: Referrals
    shop: ShopService | None  # shop mode only
    topups: TopupService | None  # shop mode only

    def as_data(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Services:
    """Everything one process owns; the front end and the worker use parts of it."""

    settings: Settings
    i18n: CatalogI18n
    db: Database
    users: UserRepository
    orders: OrderRepository
    refills: RefillRepository
    keys: KeyRepository
    panel: PanelClient
    accounts: AccountResolver
    catalog: CatalogService
    queue: OutboundQueue
    notifier: Notifier
    ordering: OrderService
    tracker: OrderTracker
    broadcaster: Broadcaster
    maintenance: Maintenance
    order_stats: OrderStats
    people: People
    referrals: Referrals
    shop: ShopService | None = None  # shop mode only
    wallets: WalletRepository | None = None
    shared: SharedRedis | None = None  # Redis, when several instances run
    topups: TopupService | None = None  # shop mode only

    def injected(self) -> Injected:
        return Injected(
            settings=self.settings,
            accounts=self.accounts,
            catalog=self.catalog,
            ordering=self.ordering,
            orders=self.orders,
            users=self.users,
            keys=self.keys,
            broadcaster=self.broadcaster,
            maintenance=self.maintenance,
            order_stats=self.order_stats,
            people=self.people,
            referrals=self.referrals,
            shop=self.shop,
            topups=self.topups,
        )
