"""DATABASE_URL and DATABASE_PATH: which database the bot opens, and what it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app import BotApp
from bot.config import ConfigError, Settings, load_settings

BASE: dict[str, Any] = {
    "bot_token": "123456:TOKEN",
    "panel_url": "http://127.0.0.1:9/api/v2",
    "_env_file": None,
}


def test_the_default_is_a_sqlite_file_in_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_PATH", raising=False)
    settings = Settings(**BASE)
    assert settings.database == "sqlite+aiosqlite:///data/bot.sqlite3"
    assert settings.database_file == Path("data/bot.sqlite3")


def test_database_path_is_the_short_form_of_a_sqlite_url(tmp_path: Path) -> None:
    settings = Settings(**BASE, database_path=tmp_path / "x.sqlite3")
    assert settings.database == f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3"
    assert settings.database_file == tmp_path / "x.sqlite3"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://bot:pw@db.example/bot", "postgresql+asyncpg://bot:pw@db.example/bot"),
        ("postgresql+asyncpg://bot@db/bot", "postgresql+asyncpg://bot@db/bot"),
        ("sqlite:///var/bot.db", "sqlite+aiosqlite:///var/bot.db"),
    ],
)
def test_database_url_takes_the_async_driver(given: str, used: str) -> None:
    settings = Settings(**BASE, database_url=given)
    assert settings.database == used


@pytest.mark.parametrize(
    "url", ["mysql://db/bot", "not a url", "postgresql+psycopg2://db/bot", "sqlite://"]
)
def test_other_databases_are_refused_in_one_line(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: expected") as caught:
        load_settings(**BASE, database_url=url)
    assert "\n" not in str(caught.value)


def test_both_settings_at_once_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: set DATABASE_URL or DATABASE_PATH"):
        load_settings(
            **BASE, database_path=tmp_path / "x.sqlite3", database_url="postgresql://db/bot"
        )


async def test_postgresql_without_secret_key_is_refused_before_connecting() -> None:
    # Hosts sharing the server must share the key: a key file would differ per host.
    settings = Settings(**BASE, database_url="postgresql://nobody@127.0.0.1:9/none")
    with pytest.raises(ConfigError, match=r"^SECRET_KEY: is required when DATABASE_URL is"):
        await BotApp(settings).open()


async def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    settings = Settings(
        **BASE,
        database_url="postgresql://bot:hunter2@127.0.0.1:9/none",
        secret_key="x" * 43 + "=",
    )
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: cannot use ") as caught:
        await BotApp(settings).open()
    assert "hunter2" not in str(caught.value)
