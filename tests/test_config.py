"""Settings: `python -m bot` refuses a bad configuration with one line naming the setting."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import BotApp
from bot.config import ConfigError, Settings, load_settings
from tests.fakes.telegram import FakeTelegram

TOKEN = "987654321:SECRET-token-value-do-not-echo"
PANEL_KEY = "SECRET-panel-key-do-not-echo"
# Nothing listens there: a test that got as far as the network would fail, not hang.
DEAD_URL = "http://127.0.0.1:9"
SECRET_SETTINGS = frozenset({"BOT_TOKEN", "PANEL_KEY", "SECRET_KEY"})


def base_env(tmp_path: Path) -> dict[str, str]:
    """A complete, valid configuration, and nothing from the environment running the tests."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": DEAD_URL,
        "PANEL_URL": DEAD_URL + "/api/v2",
        "PANEL_KEY": PANEL_KEY,
        "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
    }


def run_bot(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # cwd=tmp_path: no .env of the developer's is read.
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def assert_one_line_naming(
    result: subprocess.CompletedProcess[str], setting: str, *secrets: str
) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert setting in lines[0]
    for secret in (TOKEN, PANEL_KEY, *secrets):
        assert secret not in result.stderr
    return lines[0]


@pytest.mark.parametrize("empty", [False, True], ids=["unset", "empty"])
@pytest.mark.parametrize("setting", ["BOT_TOKEN", "PANEL_URL"])
def test_a_required_setting_is_missing(tmp_path: Path, setting: str, empty: bool) -> None:
    env = base_env(tmp_path)
    if empty:
        env[setting] = " "
    else:
        del env[setting]
    line = assert_one_line_naming(run_bot(tmp_path, env), setting)
    assert "required" in line


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("BOT_TOKEN", "SECRETbadTokenShapeVALUE"),
        ("BOT_TOKEN", "12345:"),
        ("PANEL_URL", "smm.example/api/v2"),
        ("PANEL_URL", "ftp://smm.example/api/v2"),
        ("TELEGRAM_API_URL", "localhost:8081"),
        ("ALLOWED_USER_IDS", "1,x"),
        ("ADMIN_IDS", "1;two"),
        ("POLL_INTERVAL_SECONDS", "abc"),
        ("POLL_INTERVAL_SECONDS", "-1"),
        ("PANEL_TIMEOUT_SECONDS", "0"),
        ("SECRET_KEY", "SECRET-not-a-fernet-key"),
        # A well-formed key cut short; fixed, so that every collection (xdist workers) sees the
        # same test IDs.
        ("SECRET_KEY", base64.urlsafe_b64encode(b"a truncated fernet key for tests").decode()[:-4]),
        ("LOG_LEVEL", "chatty"),
    ],
)
def test_a_malformed_setting(tmp_path: Path, setting: str, value: str) -> None:
    env = base_env(tmp_path) | {setting: value}
    secrets = (value,) if setting in SECRET_SETTINGS else ()
    assert_one_line_naming(run_bot(tmp_path, env), setting, *secrets)


def test_every_bad_setting_is_named_on_the_one_line(tmp_path: Path) -> None:
    env = base_env(tmp_path) | {"BOT_TOKEN": "SECRETbad", "PANEL_TIMEOUT_SECONDS": "0"}
    del env["PANEL_URL"]
    line = assert_one_line_naming(run_bot(tmp_path, env), "BOT_TOKEN", "SECRETbad")
    assert "PANEL_URL" in line
    assert "PANEL_TIMEOUT_SECONDS" in line


def test_a_damaged_secret_key_file_is_refused_at_start(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "secret.key"
    key_file.parent.mkdir()
    key_file.write_text("SECRET-damaged-key-file\n")
    key_file.chmod(0o600)
    line = assert_one_line_naming(
        run_bot(tmp_path, base_env(tmp_path)), "SECRET_KEY", "SECRET-damaged-key-file"
    )
    assert str(key_file) in line
    assert not (tmp_path / "data" / "bot.sqlite3").exists()


def test_a_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    """The reason the other tests run in an empty directory: `.env` is part of the config."""
    env = base_env(tmp_path)
    (tmp_path / ".env").write_text("PANEL_TIMEOUT_SECONDS=0\n")
    assert_one_line_naming(run_bot(tmp_path, env), "PANEL_TIMEOUT_SECONDS")


# --- in process -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def settings(tmp_path: Path, **values: object) -> Settings:
    defaults: dict[str, object] = {
        "bot_token": TOKEN,
        "panel_url": DEAD_URL + "/api/v2/",
        "telegram_api_url": DEAD_URL,
        "database_path": tmp_path / "data" / "bot.sqlite3",
    }
    return load_settings(_env_file=None, **(defaults | values))


def test_values_are_read_leniently(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        allowed_user_ids=" 1, 2;3,, ",
        admin_ids="",
        secret_key="  " + Fernet.generate_key().decode() + "\n",
        log_level="debug",
    )
    assert s.allowed_user_ids == frozenset({1, 2, 3})
    assert s.admin_ids == frozenset()
    assert s.panel_url == DEAD_URL + "/api/v2"
    assert s.log_level == "DEBUG"
    assert not s.shared_key_mode
    assert s.may_use(12345)


def test_an_empty_panel_key_means_own_key_mode(tmp_path: Path) -> None:
    assert not settings(tmp_path, panel_key="").shared_key_mode
    assert settings(tmp_path, panel_key="  \n").panel_key is None
    padded = settings(tmp_path, panel_key=f" {PANEL_KEY}\n").panel_key
    assert padded is not None and padded.get_secret_value() == PANEL_KEY
    assert not settings(tmp_path, secret_key="").secret_key
    shared = settings(tmp_path, panel_key=PANEL_KEY, allowed_user_ids="5", admin_ids="6")
    assert shared.shared_key_mode
    assert shared.may_use(5) and shared.may_use(6) and not shared.may_use(7)


def test_secrets_stay_out_of_reprs_and_errors(tmp_path: Path) -> None:
    s = settings(tmp_path, panel_key=PANEL_KEY, secret_key=Fernet.generate_key().decode())
    assert TOKEN not in repr(s) and PANEL_KEY not in repr(s)
    assert s.secret_key is not None
    assert s.secret_key.get_secret_value() not in repr(s)
    with pytest.raises(ConfigError) as error:
        settings(tmp_path, bot_token="xyzzy-bad-token", secret_key="xyzzy-bad-key")
    assert "xyzzy" not in str(error.value)
    assert "BOT_TOKEN" in str(error.value) and "SECRET_KEY" in str(error.value)


async def test_a_changed_secret_key_is_refused_at_start(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        reachable = {"bot_token": tg.token, "telegram_api_url": tg.base_url}
        first_key = Fernet.generate_key().decode()
        first = BotApp(settings(tmp_path, secret_key=first_key, **reachable))
        await first.open()
        try:
            await first.services.keys.set(101, "SECRET-stored-panel-key")
        finally:
            await first.close()
        second = BotApp(settings(tmp_path, secret_key=Fernet.generate_key().decode(), **reachable))
        with pytest.raises(ConfigError, match=r"^SECRET_KEY: .*another secret key"):
            await second.open()
        # The refused start left the database closed and unchanged: the first key opens it.
        again = BotApp(settings(tmp_path, secret_key=first_key, **reachable))
        await again.open()
        try:
            assert await again.services.keys.get(101) == "SECRET-stored-panel-key"
        finally:
            await again.close()


async def test_a_token_telegram_refuses_is_one_line(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        app = BotApp(
            settings(tmp_path, bot_token="123:SECRET-wrong-token", telegram_api_url=tg.base_url)
        )
        with pytest.raises(ConfigError, match=r"^BOT_TOKEN: Telegram refused this token$"):
            await app.open()


async def test_an_unusable_database_path_is_refused_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for secret_key in (None, Fernet.generate_key().decode()):
        app = BotApp(
            settings(tmp_path, database_path=blocker / "bot.sqlite3", secret_key=secret_key)
        )
        with pytest.raises(ConfigError, match=r"^DATABASE_PATH: "):
            await app.open()


async def test_a_default_language_without_a_catalogue_is_refused_at_start(tmp_path: Path) -> None:
    app = BotApp(settings(tmp_path, default_language="fr", locales_dir=tmp_path / "locales"))
    with pytest.raises(ConfigError, match=r"^DEFAULT_LANGUAGE: no catalogue for fr"):
        await app.open()
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_a_minimum_top_up_no_stars_invoice_can_hold_is_refused_at_start(tmp_path: Path) -> None:
    # 10,000 Stars an invoice at 50 Stars a unit: 200 units at the most, so 250 is none at all.
    env = base_env(tmp_path) | {"STARS_PER_UNIT": "50", "TOPUP_MIN_AMOUNT": "250"}
    line = assert_one_line_naming(run_bot(tmp_path, env), "TOPUP_MIN_AMOUNT")
    assert "10,000 Stars" in line
