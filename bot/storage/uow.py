"""A unit of work: one transaction, with the repositories bound to it."""

from __future__ import annotations

from functools import cached_property

from bot.storage.leases import LeaseRepository
from bot.storage.orders import OrderRepository
from bot.storage.refills import RefillRepository
from bot.storage.session import Session
from bot.storage.users import UserRepository


class UnitOfWork(Session):
    """Everything done through it commits together or not at all.

    Panel keys need the secret box: `KeyRepository(uow, box)` joins the transaction the same way.
    """

    @cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self)

    @cached_property
    def refills(self) -> RefillRepository:
        return RefillRepository(self)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self)

    @cached_property
    def leases(self) -> LeaseRepository:
        return LeaseRepository(self)
