"""Checks of the settings that need the file system, done before the heavy imports.

Importing aiogram takes seconds: a language without a catalogue or a database folder that
cannot be written is reported at once, in one line, not after that wait.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.config import ConfigError, Settings


def check(settings: Settings) -> None:
    """Raise ConfigError naming the first setting that cannot serve."""
    _language(settings)
    if settings.database_file is not None:  # a server is checked when connecting
        _database_folder(settings.database_file)


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
