"""Translation layer: gettext catalogues compiled at start, locale-aware numbers and money."""

from __future__ import annotations

import gettext
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

__all__ = ["CatalogI18n", "_", "__", "format_money", "format_number", "normalize_language"]

DOMAIN = "messages"


class CatalogI18n(I18n):
    """aiogram's I18n that compiles `.po` catalogues in memory, so no build step is ever needed.

    English is the source language: it needs no catalogue, and is always available.
    """

    # `languages` as last made: from which catalogues, with which default language.
    _languages: tuple[dict[str, gettext.GNUTranslations], str, tuple[str, ...]] | None = None

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        if not self.path.is_dir():
            return translations
        for folder in sorted(self.path.iterdir()):
            po_path = folder / "LC_MESSAGES" / f"{self.domain}.po"
            if not po_path.is_file():
                continue
            with po_path.open("rb") as fp:
                catalog = read_po(fp, locale=folder.name, domain=self.domain)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            translations[folder.name] = gettext.GNUTranslations(buffer)
        return translations

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages a person may choose: the source language and every catalogue."""
        # Asked at every update (the person's language is checked against it): made once per
        # set of catalogues (a reload brings a new one) rather than sorted anew each time.
        made = self._languages
        if made is None or made[0] is not self.locales or made[1] != self.default_locale:
            languages = tuple(dict.fromkeys([self.default_locale, "en", *sorted(self.locales)]))
            made = self._languages = (self.locales, self.default_locale, languages)
        return made[2]


# aiogram's `gettext` finds the current instance through I18n's own context variable, and every
# subclass gets a new one: share I18n's, so `_()` sees this instance.
CatalogI18n._ContextInstanceMixin__context_instance = I18n._ContextInstanceMixin__context_instance  # type: ignore[attr-defined]


def build_i18n(path: Path, default_language: str) -> CatalogI18n:
    return CatalogI18n(path=path, default_locale=default_language, domain=DOMAIN)


def normalize_language(code: str | None, available: tuple[str, ...], default: str) -> str:
    """Map Telegram's `language_code` (e.g. `pt-br`, `ru`) to a language we have."""
    if code:
        base = code.replace("_", "-").split("-")[0].lower()
        if base in available:
            return base
    return default


def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def current_language() -> str:
    return I18n.get_current().current_locale


def format_number(value: Decimal | int, language: str | None = None) -> str:
    """A number in the person's locale, every digit kept (money is exact, never rounded here)."""
    locale = _babel_locale(language or current_language())
    return format_decimal(value, locale=locale, decimal_quantization=False)


def format_fixed(value: Decimal, digits: int, language: str | None = None) -> str:
    """An amount with exactly `digits` decimals (a currency's minor unit), in the locale."""
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(value, pattern, locale=_babel_locale(language or current_language()))


def format_moment(timestamp: float, language: str | None = None) -> str:
    """A date and time in the person's locale, in UTC (the bot does not know their zone)."""
    locale = _babel_locale(language or current_language())
    moment = datetime.fromtimestamp(timestamp, UTC)
    date = format_date(moment, "medium", locale=locale)
    time = format_time(moment, "short", tzinfo=UTC, locale=locale)
    pattern = get_datetime_format("medium", locale=locale)
    return pattern.replace("{1}", date).replace("{0}", time) + " UTC"


def format_money(amount: Decimal, currency: str | None, language: str | None = None) -> str:
    text = format_number(amount, language)
    return f"{text} {currency}" if currency else text
