"""MODE and the shop's settings: who is served, and a bad shop setting stops the start."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from tests.test_config import PANEL_KEY, assert_one_line_naming, base_env, run_bot


def settings(tmp_path: Path, **overrides: object) -> Settings:
    env = {k.lower(): v for k, v in base_env(tmp_path).items() if k != "PATH"}
    env.pop("panel_key")
    return load_settings(**(env | overrides))


def test_unset_mode_is_as_before(tmp_path: Path) -> None:
    assert settings(tmp_path).effective_mode == "own-key"
    shared = settings(tmp_path, panel_key=PANEL_KEY, allowed_user_ids="5")
    assert shared.effective_mode == "shared-key" and not shared.shop_mode
    assert shared.may_use(5) and not shared.may_use(6)


def test_the_shop_serves_anyone_on_the_operators_key(tmp_path: Path) -> None:
    shop = settings(tmp_path, mode=" Shop ", panel_key=PANEL_KEY, allowed_user_ids="5")
    assert shop.shop_mode and shop.shared_key_mode
    assert shop.may_use(6)
    assert shop.shop_currency == "USD"
    assert shop.panel_to_shop_rate == 1 and isinstance(shop.panel_to_shop_rate, Decimal)
    assert shop.shop_markup_percent == 30 and shop.shop_min_order_price == 0


def test_own_key_mode_may_be_chosen_with_a_key_set(tmp_path: Path) -> None:
    own = settings(tmp_path, mode="own-key", panel_key=PANEL_KEY)
    assert not own.shared_key_mode and own.may_use(6)


def test_shop_values_are_exact(tmp_path: Path) -> None:
    shop = settings(
        tmp_path,
        mode="shop",
        panel_key=PANEL_KEY,
        shop_currency="jpy",
        panel_to_shop_rate="151.37",
        shop_markup_percent="12.5",
        shop_min_order_price="0.10",
    )
    assert shop.shop_currency == "JPY"
    assert shop.panel_to_shop_rate == Decimal("151.37")
    assert shop.shop_markup_percent == Decimal("12.5")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MODE": "shop", "PANEL_KEY": ""}, "PANEL_KEY"),
        ({"MODE": "shared-key", "PANEL_KEY": ""}, "PANEL_KEY"),
        ({"MODE": "store"}, "MODE"),
        ({"MODE": "shop", "SHOP_CURRENCY": "DOLLARS"}, "SHOP_CURRENCY"),
        ({"MODE": "shop", "PANEL_TO_SHOP_RATE": "0"}, "PANEL_TO_SHOP_RATE"),
        ({"MODE": "shop", "PANEL_TO_SHOP_RATE": "NaN"}, "PANEL_TO_SHOP_RATE"),
        ({"MODE": "shop", "SHOP_MARKUP_PERCENT": "-1"}, "SHOP_MARKUP_PERCENT"),
        ({"MODE": "shop", "SHOP_MIN_ORDER_PRICE": "x"}, "SHOP_MIN_ORDER_PRICE"),
    ],
)
def test_a_bad_shop_setting_stops_the_start_in_one_line(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    assert_one_line_naming(run_bot(tmp_path, base_env(tmp_path) | env), named)
