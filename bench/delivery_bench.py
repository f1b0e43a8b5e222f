"""Delivery benchmark: notifications through the real aiogram Bot to a rate-limited fake Telegram.

Run by hand: ``python -m bench.delivery_bench`` (about 35 s + 50 s with the defaults; smaller
with ``--chats`` and ``--burst``).
The fake answers 429 beyond 30 messages a second overall or one a second per chat, like
Telegram; the queue should lose nothing, cause no 429 and come close to the limits.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.services.delivery import OutboundQueue, Outgoing
from bot.telegram.limiter import SendLimiter
from bot.telegram.retry import FloodControlMiddleware
from bot.telegram.sender import make_bot_sender

GLOBAL_PER_SECOND = 30
PER_CHAT_PER_SECOND = 1


@dataclass
class Result:
    name: str
    messages: int
    seconds: float
    minimum: float
    too_many_requests: int
    lost: int
    out_of_order: int

    def report(self) -> str:
        achieved = 100 * self.minimum / self.seconds if self.seconds else 100.0
        return (
            f"{self.name}: {self.messages} messages in {self.seconds:.2f} s "
            f"(limit allows {self.minimum:.2f} s, {achieved:.1f} % of the allowed rate); "
            f"429s: {self.too_many_requests}; lost: {self.lost}; "
            f"chats out of order: {self.out_of_order}"
        )


async def deliver(name: str, plan: list[int], minimum: float) -> Result:
    """Queue one numbered message per entry of ``plan`` (a chat id) and wait for all of them."""
    async with FakeTelegramServer() as fake:
        fake.faults.rate_limit(GLOBAL_PER_SECOND, PER_CHAT_PER_SECOND)
        bot = fake.create_bot()
        # As the app wires it: the bot's one limiter keeps the limits, the queue the order.
        limiter = SendLimiter(GLOBAL_PER_SECOND, 1 / PER_CHAT_PER_SECOND)
        bot.session.middleware(FloodControlMiddleware(limiter))
        queue = OutboundQueue(make_bot_sender(bot))
        await queue.start()
        started = time.monotonic()
        expected: dict[int, list[str]] = {}
        for number, chat_id in enumerate(plan):
            text = f"Order {number} is completed"
            expected.setdefault(chat_id, []).append(text)
            await queue.put(Outgoing(chat_id, text))
        await queue.join()
        seconds = time.monotonic() - started
        await queue.stop()
        await bot.session.close()

        lost = 0
        out_of_order = 0
        for chat_id, texts in expected.items():
            delivered = [message.raw_text for message in fake.transcript(chat_id)]
            lost += len(set(texts) - set(delivered))
            out_of_order += delivered != texts
        return Result(
            name, len(plan), seconds, minimum, fake.faults.too_many_requests, lost, out_of_order
        )


async def main(chats: int, burst: int) -> None:
    print(f"limits: {GLOBAL_PER_SECOND}/s overall, {PER_CHAT_PER_SECOND}/s per chat")
    # The first message goes at once, so n messages need (n - 1) / rate seconds at best.
    spread = await deliver(
        f"{chats} chats x 1", list(range(1, chats + 1)), (chats - 1) / GLOBAL_PER_SECOND
    )
    print(spread.report())
    one_chat = await deliver(f"1 chat x {burst}", [1] * burst, (burst - 1) / PER_CHAT_PER_SECOND)
    print(one_chat.report())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000, help="chats getting one message each")
    parser.add_argument("--burst", type=int, default=50, help="messages to a single chat")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.chats, arguments.burst))
