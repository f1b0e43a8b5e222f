"""Settings read from the environment and `.env`; the names are the public interface."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from babel.numbers import is_currency
from cryptography.fernet import Fernet
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.payments.stars import MAX_STARS

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.sqlite3"

IdList = Annotated[frozenset[int], NoDecode]
AmountList = Annotated[tuple[Decimal, ...], NoDecode]
NameList = Annotated[tuple[str, ...], NoDecode]


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and never echoes its value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    bot_token: SecretStr
    telegram_api_url: str | None = None
    panel_url: str
    panel_key: SecretStr | None = None
    allowed_user_ids: IdList = frozenset()
    admin_ids: IdList = frozenset()
    # DATABASE_PATH is the short form of a SQLite DATABASE_URL; set one or the other.
    database_path: Path | None = None
    database_url: str | None = None
    poll_interval_seconds: float = Field(60.0, gt=0)
    poll_max_interval_seconds: float = Field(1800.0, gt=0)
    panel_timeout_seconds: float = Field(30.0, gt=0)
    panel_read_retries: int = Field(3, ge=0)
    panel_retry_backoff_seconds: float = Field(0.5, ge=0)
    panel_interactive_deadline_seconds: float = Field(15.0, gt=0)
    panel_user_agent: str = DEFAULT_USER_AGENT
    default_language: str = "en"
    secret_key: SecretStr | None = None
    catalog_ttl_seconds: float = Field(600.0, ge=0)
    telegram_messages_per_second: float = Field(30.0, gt=0)
    telegram_chat_interval_seconds: float = Field(1.0, ge=0)
    throttle_updates_per_second: float = Field(3.0, gt=0)
    throttle_burst: int = Field(8, ge=1)
    locales_dir: Path = Path(__file__).resolve().parent.parent / "locales"
    log_level: str = "INFO"
    # How updates arrive, and whether this process also runs the background worker.
    runner: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_path: str | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    run_worker: bool = True
    # Handlers in flight get this long at a stop; with the outbound queue's 2 s drain, a stop
    # stays within the 10 s that process managers (Docker's default) wait before killing.
    shutdown_grace_seconds: float = Field(6.0, ge=0)
    worker_lease_seconds: float = Field(30.0, gt=0)
    # Who the bot serves and who pays: unset keeps the old rule (PANEL_KEY set: shared-key).
    mode: Literal["shop", "shared-key", "own-key"] | None = None
    shop_currency: str = "USD"
    # Shop currency units per panel currency unit; money is Decimal, never float.
    panel_to_shop_rate: Decimal = Field(Decimal(1), gt=0, allow_inf_nan=False)
    shop_markup_percent: Decimal = Field(Decimal(30), ge=0, allow_inf_nan=False)
    shop_min_order_price: Decimal = Field(Decimal(0), ge=0, allow_inf_nan=False)
    # Several instances share conversations, flood control and caches through Redis.
    redis_url: SecretStr | None = None
    redis_prefix: str = Field("smmbot", min_length=1)
    redis_state_ttl_seconds: float = Field(7 * 24 * 3600.0, gt=0)
    # Top-ups. Stars: how many buy one unit of the shop's currency (unset: Stars are off).
    stars_per_unit: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    topup_amounts: AmountList = (Decimal(5), Decimal(10), Decimal(25), Decimal(50))
    topup_min_amount: Decimal = Field(Decimal(1), gt=0, allow_inf_nan=False)
    topup_max_amount: Decimal = Field(Decimal(1000), gt=0, allow_inf_nan=False)
    # Share of each referred person's top-ups credited to who brought them; 0 is off.
    referral_percent: Decimal = Field(Decimal(0), ge=0, le=100, allow_inf_nan=False)
    cryptopay_token: SecretStr | None = None  # unset: Crypto Pay is off
    cryptopay_network: Literal["mainnet", "testnet"] = "mainnet"
    cryptopay_api_url: str | None = None  # another API (the simulator); default: the network's
    cryptopay_assets: NameList = ("USDT", "TON", "BTC")
    cryptopay_invoice_minutes: int = Field(60, ge=1, le=44640)
    cryptopay_poll_seconds: float = Field(30.0, gt=0)
    # Where the webhook server takes Crypto Pay's webhook (RUNNER=webhook); unset: polling only.
    cryptopay_webhook_path: str | None = None

    @field_validator("allowed_user_ids", "admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            ids = []
            for part in parts:
                if not part:
                    continue
                if not part.lstrip("-").isdigit():
                    raise ValueError("expected comma-separated Telegram user IDs")
                ids.append(int(part))
            return frozenset(ids)
        return value

    @field_validator("stars_per_unit", mode="before")
    @classmethod
    def _blank_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("topup_amounts", mode="before")
    @classmethod
    def _split_amounts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("topup_amounts")
    @classmethod
    def _positive_amounts(cls, value: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        if not value or any(not a.is_finite() or a <= 0 for a in value):
            raise ValueError("expected comma-separated positive amounts, such as 5,10,25,50")
        return tuple(sorted(set(value)))

    @field_validator("cryptopay_assets", mode="before")
    @classmethod
    def _split_assets(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip().upper() for part in value.split(",") if part.strip())
        if isinstance(value, tuple) and (
            not value or not all(a.isascii() and a.isalnum() and len(a) <= 10 for a in value)
        ):
            raise ValueError("expected comma-separated asset codes, such as USDT,TON,BTC")
        return value

    @field_validator("cryptopay_token")
    @classmethod
    def _cryptopay_token(cls, value: SecretStr | None) -> SecretStr | None:
        token = value.get_secret_value().strip() if value is not None else ""
        if not token:
            return None
        head, _, tail = token.partition(":")
        if not head.isdigit() or not tail:
            raise ValueError("expected an app token like 12345:AA... from @CryptoBot's Crypto Pay")
        return SecretStr(token)

    @field_validator("cryptopay_network", mode="before")
    @classmethod
    def _network(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("panel_url", "telegram_api_url", "webhook_url", "cryptopay_api_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            if info.field_name == "panel_url":
                raise ValueError("is required")
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http(s) URL")
        return value.strip().rstrip("/")

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token:
            raise ValueError("is required")
        head, _, tail = token.partition(":")
        if not head.isdigit() or not tail:
            raise ValueError("expected a token like 123456:ABC... from @BotFather")
        return SecretStr(token)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        if info.data.get("database_path") is not None:
            raise ValueError("set DATABASE_URL or DATABASE_PATH, not both")
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError(f"expected a URL such as {DEFAULT_DATABASE_URL}") from None
        # The plain forms pick the async driver the bot runs on.
        drivers = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
        driver = drivers.get(url.drivername, url.drivername)
        if driver not in drivers.values() or not url.database:
            raise ValueError(
                "expected sqlite+aiosqlite:///path/to/file or "
                "postgresql+asyncpg://user:password@host/database"
            )
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.strip().lower()
        if not value.replace("_", "").isalpha():
            raise ValueError("expected a language code such as en")
        return value

    @field_validator("panel_key")
    @classmethod
    def _key_or_none(cls, value: SecretStr | None) -> SecretStr | None:
        # A blank PANEL_KEY (`PANEL_KEY=` in a .env) means own-key mode, not a key of spaces.
        key = value.get_secret_value().strip() if value is not None else ""
        return SecretStr(key) if key else None

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        key = value.get_secret_value().strip() if value is not None else ""
        if not key:
            return None
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                "expected a Fernet key: 32 bytes in url-safe base64 (44 characters)"
            ) from None
        return SecretStr(key)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        # A secret: the URL may carry Redis's password.
        url = value.get_secret_value().strip() if value is not None else ""
        if not url:
            return None
        if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("expected a URL such as redis://127.0.0.1:6379/0")
        return SecretStr(url)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in logging.getLevelNamesMapping():
            raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("runner", mode="before")
    @classmethod
    def _runner(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("webhook_path", "cryptopay_webhook_path")
    @classmethod
    def _webhook_path(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise ValueError("expected a path such as /telegram")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        secret = value.get_secret_value().strip() if value is not None else ""
        if not secret:
            return None
        # Telegram's own rule for secret_token, and enough randomness to be worth checking.
        if len(secret) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
            raise ValueError("expected 32 to 256 characters of A-Z, a-z, 0-9, _ and -")
        if len(secret) < 32 or len(set(secret)) < 10:
            raise ValueError("expected at least 32 random characters")
        return SecretStr(secret)

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("shop_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.strip().upper()
        if not is_currency(value):
            raise ValueError("expected an ISO 4217 currency code such as USD")
        return value

    @model_validator(mode="after")
    def _shop_has_a_key(self) -> Settings:
        if self.mode in ("shop", "shared-key") and self.panel_key is None:
            raise ValueError(f"PANEL_KEY is required when MODE={self.mode}")
        return self

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        if self.runner != "webhook":
            return self
        if self.webhook_url is None:
            raise ValueError("WEBHOOK_URL is required when RUNNER=webhook")
        if self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required when RUNNER=webhook")
        if self.cryptopay_webhook_path is not None and (
            self.cryptopay_webhook_path == self.listen_path
        ):
            raise ValueError("CRYPTOPAY_WEBHOOK_PATH must differ from Telegram's webhook path")
        return self

    @model_validator(mode="after")
    def _topups_consistent(self) -> Settings:
        if self.topup_min_amount > self.topup_max_amount:
            raise ValueError("TOPUP_MIN_AMOUNT must not exceed TOPUP_MAX_AMOUNT")
        # Stars would then offer no amount at all: every one is beyond what an invoice holds.
        if self.stars_per_unit is not None and (
            self.topup_min_amount * self.stars_per_unit > MAX_STARS
        ):
            raise ValueError(
                f"TOPUP_MIN_AMOUNT costs more than {MAX_STARS:,} Stars at STARS_PER_UNIT, "
                "the most one Stars invoice holds"
            )
        # A path nobody serves would leave the operator believing webhooks arrive.
        if self.cryptopay_webhook_path is not None and (
            self.runner != "webhook" or self.cryptopay_token is None
        ):
            raise ValueError("CRYPTOPAY_WEBHOOK_PATH needs RUNNER=webhook and CRYPTOPAY_TOKEN")
        return self

    @property
    def stars_on(self) -> bool:
        return self.stars_per_unit is not None

    @property
    def cryptopay_on(self) -> bool:
        return self.cryptopay_token is not None

    @property
    def listen_path(self) -> str:
        """The path the webhook server answers: WEBHOOK_PATH, or the path of WEBHOOK_URL."""
        if self.webhook_path:
            return self.webhook_path
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def database(self) -> str:
        """The database URL: DATABASE_URL, else DATABASE_PATH's SQLite file, else the default."""
        if self.database_url is not None:
            return self.database_url
        if self.database_path is not None:
            url = URL.create("sqlite+aiosqlite", database=str(self.database_path))
            return url.render_as_string()
        return DEFAULT_DATABASE_URL

    @property
    def database_file(self) -> Path | None:
        """The SQLite file, or None when the database is a server."""
        url = make_url(self.database)
        return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None

    @property
    def effective_mode(self) -> Literal["shop", "shared-key", "own-key"]:
        if self.mode is not None:
            return self.mode
        return "shared-key" if self.panel_key is not None else "own-key"

    @property
    def shop_mode(self) -> bool:
        return self.effective_mode == "shop"

    @property
    def shared_key_mode(self) -> bool:
        """The operator's PANEL_KEY serves everyone (shared-key and shop): nobody connects one."""
        return self.effective_mode != "own-key" and self.panel_key is not None

    def may_use(self, user_id: int) -> bool:
        """Shared-key mode serves only listed people; own-key mode and the shop serve anyone."""
        if self.effective_mode != "shared-key":
            return True
        return user_id in self.allowed_user_ids or user_id in self.admin_ids


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one line per bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            reason = "is required" if error["type"] == "missing" else error["msg"]
            reason = reason.removeprefix("Value error, ")
            if error["loc"]:
                lines.append(f"{str(error['loc'][0]).upper()}: {reason}")
            else:
                # A rule across settings: its message names them itself.
                lines.append(reason)
        raise ConfigError("; ".join(lines)) from None
