"""REDIS_URL: checked at start, and never echoed (it may carry Redis's password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import BotApp
from bot.config import ConfigError, load_settings
from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import Harness
from tests.fakes.telegram import FakeTelegram

PASSWORD = "redis-password-never-shown"


def test_a_redis_url_that_is_not_one_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(
            _env_file=None,
            bot_token="123:abc",
            panel_url="http://127.0.0.1:9",
            redis_url=f"http://user:{PASSWORD}@127.0.0.1:6379",
        )
    assert "REDIS_URL" in str(refused.value)
    assert PASSWORD not in str(refused.value)


async def test_an_unreachable_redis_stops_the_start_in_one_line(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    settings = Harness(tmp_path, sim, tg, redis_url=f"redis://:{PASSWORD}@127.0.0.1:9/0").settings()
    app = BotApp(settings, bot_session=tg.create_session())
    with pytest.raises(ConfigError) as refused:
        await app.open()
    assert str(refused.value).startswith("REDIS_URL: cannot reach Redis")
    assert PASSWORD not in str(refused.value)
    assert tg.calls == []  # refused before anything was asked of Telegram
