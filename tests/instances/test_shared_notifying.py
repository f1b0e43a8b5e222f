"""Two instances' notifiers on one database and one Redis: a status change is told once."""

from __future__ import annotations

import asyncio

from bot.services.notifying import Notifier
from bot.shared.claims import RedisClaims
from bot.shared.connection import SharedRedis
from bot.views.notifications import NotificationViews
from tests.tracking.conftest import locales, sim_with_keys, world  # noqa: F401
from tests.tracking.world import ADMIN, ALICE, World


async def test_a_change_seen_by_two_instances_at_once_is_told_once(
    world: World,  # noqa: F811 (the tracking tests' fixture, imported above)
    shared: SharedRedis,
    other: SharedRedis,
) -> None:
    await world.new_notifier()  # a second outbound queue: each instance has its own
    notifiers = [
        Notifier(
            world.orders,
            world.refills,
            world.users,
            queue,
            NotificationViews(world.i18n),
            [ADMIN],
            claims=RedisClaims(connection),
        )
        for queue, connection in zip(world.queues[-2:], (shared, other), strict=True)
    ]
    [order] = await world.place(ALICE)
    assert await world.end(order.id, "Completed")

    queued = await asyncio.gather(*(notifier.flush() for notifier in notifiers))
    for queue in world.queues:
        await queue.join()

    assert sorted(queued) == [0, 1]
    assert len([m for m in world.chat(ALICE) if "Completed" in m.text]) == 1
