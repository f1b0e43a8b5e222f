"""Top-up settings: both providers off unless configured, lists read from the environment,
and a bad value refused with its name and never its value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.config import ConfigError, Settings, load_settings

TOKEN = "4321:AAsecret-crypto-pay-token"
WEBHOOK = {
    "RUNNER": "webhook",
    "WEBHOOK_URL": "https://bot.example/hook",
    "WEBHOOK_SECRET": "abcdefghijklmnopqrstuvwxyz0123456789",
}


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("BOT_TOKEN", "1:a")
    monkeypatch.setenv("PANEL_URL", "http://127.0.0.1:9/api/v2")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


def test_both_providers_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch)
    assert not s.stars_on and not s.cryptopay_on
    assert s.topup_amounts == (Decimal(5), Decimal(10), Decimal(25), Decimal(50))
    assert (s.cryptopay_network, s.cryptopay_assets) == ("mainnet", ("USDT", "TON", "BTC"))


def test_lists_and_switches_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(
        monkeypatch,
        STARS_PER_UNIT="50",
        TOPUP_AMOUNTS="25, 5,10,5",
        CRYPTOPAY_TOKEN=TOKEN,
        CRYPTOPAY_NETWORK="Testnet",
        CRYPTOPAY_ASSETS="usdt, ton",
        CRYPTOPAY_WEBHOOK_PATH="/cryptopay",
        **WEBHOOK,
    )
    assert s.stars_on and s.stars_per_unit == Decimal(50)
    assert s.topup_amounts == (Decimal(5), Decimal(10), Decimal(25))
    assert s.cryptopay_on and s.cryptopay_network == "testnet"
    assert s.cryptopay_assets == ("USDT", "TON")
    assert s.cryptopay_webhook_path == "/cryptopay"
    assert TOKEN not in repr(s) + str(s)


def test_blank_values_switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, STARS_PER_UNIT="", CRYPTOPAY_TOKEN=" ")
    assert not s.stars_on and not s.cryptopay_on


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STARS_PER_UNIT", "0"),
        ("STARS_PER_UNIT", "many"),
        ("TOPUP_AMOUNTS", "5,-1"),
        ("TOPUP_AMOUNTS", ","),
        ("CRYPTOPAY_TOKEN", "no-colon-secret"),
        ("CRYPTOPAY_NETWORK", "moon"),
        ("CRYPTOPAY_ASSETS", "US DT"),
        ("CRYPTOPAY_API_URL", "ftp://x"),
        ("CRYPTOPAY_WEBHOOK_PATH", "cryptopay"),
    ],
)
def test_a_bad_value_is_named_and_not_echoed(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        settings(monkeypatch, **{name: value})
    assert name in str(refused.value)
    if len(value) > 3:
        assert value not in str(refused.value)


def test_the_crypto_pay_path_is_not_telegrams(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="CRYPTOPAY_WEBHOOK_PATH"):
        settings(monkeypatch, CRYPTOPAY_TOKEN=TOKEN, CRYPTOPAY_WEBHOOK_PATH="/hook", **WEBHOOK)


@pytest.mark.parametrize(
    "env", [{"CRYPTOPAY_TOKEN": TOKEN}, WEBHOOK], ids=["polling runner", "Crypto Pay off"]
)
def test_a_crypto_pay_path_nobody_would_serve_is_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    with pytest.raises(ConfigError, match="CRYPTOPAY_WEBHOOK_PATH needs"):
        settings(monkeypatch, CRYPTOPAY_WEBHOOK_PATH="/cryptopay", **env)
