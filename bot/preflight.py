"""Checks of the settings that need the file system, done before the heavy imports.

Importing aiogram takes seconds: a language without a catalogue, a database folder that
cannot be written or a damaged secret key file is reported at once, in one line, not after
that wait.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.config import ConfigError, Settings
from bot.storage.secrets import load_or_create_secret_key


def check(settings: Settings) -> None:
    """Raise ConfigError naming the first setting that cannot serve."""
    _language(settings)
    if settings.database_file is not None:  # a server is checked when connecting
        _database_folder(settings.database_file)
    _secret_key(settings)


def secret_key_file(settings: Settings) -> Path | None:
    """Where the secret key is kept when SECRET_KEY is unset: beside the SQLite database."""
    if settings.database_file is None:
        return None
    return settings.database_file.parent / "secret.key"


def _secret_key(settings: Settings) -> None:
    if settings.secret_key is not None:
        return  # validated with the settings
    key_file = secret_key_file(settings)
    if key_file is None:
        # Every host sharing the server must decrypt the same keys: a file would be per host.
        raise ConfigError("SECRET_KEY: is required when DATABASE_URL is a PostgreSQL server")
    if key_file.exists():
        try:
            load_or_create_secret_key(None, key_file)  # reads it only: it exists
        except ValueError as exc:
            raise ConfigError(f"SECRET_KEY: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"DATABASE_PATH: cannot use {key_file}: {exc.strerror}") from None


def _language(settings: Settings) -> None:
    language = settings.default_language
    catalogue = settings.locales_dir / language / "LC_MESSAGES" / "messages.po"
    if language != "en" and not catalogue.is_file():
        raise ConfigError(
            f"DEFAULT_LANGUAGE: no catalogue for {language} in {settings.locales_dir}"
        )


def _database_folder(path: Path) -> None:
    if path.exists() and not path.is_file():
        raise ConfigError(f"DATABASE_PATH: cannot use {path}: not a file")
    folder = path.parent
    # The nearest folder that exists must let us create what is missing below it.
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"DATABASE_PATH: cannot use {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"DATABASE_PATH: cannot use {path}: {existing} is not writable")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise ConfigError(f"DATABASE_PATH: cannot use {path}: not readable and writable")
