"""The translation catalogues: up to date with the code, complete, faithful, and loadable."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.catalogs import KEYWORDS, LOCALES, ROOT, TEMPLATE
from bot.i18n import DOMAIN, CatalogI18n, format_moment, format_money, format_number

LANGUAGES = ("ru", "ja")
RU_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)
NPLURALS = {"ru": 3, "ja": 1}
HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
# A Telegram command: a slash not inside a word, a URL (`https://`) or a date (`31/12`).
COMMAND = re.compile(r"(?<![\w/:])/[a-z_]+\b")
# A plural text with a known Russian form per count: 1 → one, 3 → few, 5 → many, 21, 11.
PLURAL_PROBE = "Choose a category ({count} service):"
PLURAL_PROBE_PLURAL = "Choose a category ({count} services):"


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale, domain=DOMAIN)


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {message.id for message in catalog if message.id}


def _catalog_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@pytest.fixture(scope="module")
def template() -> Catalog:
    return _read(TEMPLATE)


@pytest.fixture(scope="module", params=LANGUAGES)
def catalog(request: pytest.FixtureRequest) -> Catalog:
    return _read(_catalog_path(request.param), locale=request.param)


def _translated(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def _sources(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _targets(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _fields(text: str) -> Counter[tuple[str, str | None, str | None]]:
    return Counter(
        (name, spec, conversion)
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


def _symbols(text: str) -> Counter[str]:
    """Emoji and pictographs, which the translations keep as they are (`№` is a letterlike)."""
    return Counter(c for c in text if unicodedata.category(c) == "So" and ord(c) >= 0x2300)


def test_template_matches_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            *KEYWORDS,
            "--no-location",
            "-o",
            str(fresh),
            str(ROOT / "bot"),
        ]
    )
    extracted, stored = _ids(_read(fresh)), _ids(_read(TEMPLATE))
    assert extracted, "nothing extracted: the keywords no longer match the code"
    new, gone = sorted(map(str, extracted - stored)), sorted(map(str, stored - extracted))
    assert not new and not gone, (
        f"run `python -m bot.catalogs extract` and `update`; new: {new}, gone: {gone}"
    )


def test_extraction_sees_plural_and_lazy_texts(template: Catalog) -> None:
    # A plural `_()` and a lazy `__()` from the code, so a keyword spec lost breaks this.
    assert (PLURAL_PROBE, PLURAL_PROBE_PLURAL) in _ids(template)
    assert "Pending" in _ids(template)


def test_catalogue_has_exactly_the_template(template: Catalog, catalog: Catalog) -> None:
    assert _ids(catalog) == _ids(template)


def test_catalogue_is_complete_and_not_fuzzy(catalog: Catalog) -> None:
    language = str(catalog.locale)
    assert catalog.num_plurals == NPLURALS[language]
    for message in _translated(catalog):
        assert "fuzzy" not in message.flags, message.id
        targets = _targets(message)
        if isinstance(message.id, tuple):
            assert len(targets) == catalog.num_plurals, message.id
        assert all(target.strip() for target in targets), message.id


def test_russian_plural_forms_header() -> None:
    assert _read(_catalog_path("ru"), locale="ru").plural_forms == RU_PLURAL_FORMS
    assert _read(_catalog_path("ja"), locale="ja").plural_forms == "nplurals=1; plural=0;"


def test_placeholders_tags_commands_and_emoji_are_kept(catalog: Catalog) -> None:
    for message in _translated(catalog):
        sources = _sources(message)
        for source in sources[1:]:
            assert _fields(source) == _fields(sources[0]), sources
        for target in _targets(message):
            source = sources[0]
            assert _fields(target) == _fields(source), (source, target)
            assert Counter(HTML_TAG.findall(target)) == Counter(HTML_TAG.findall(source)), target
            assert Counter(COMMAND.findall(target)) == Counter(COMMAND.findall(source)), target
            assert _symbols(target) == _symbols(source), (source, target)
            assert target.count("\n") == source.count("\n"), target


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_compiles(language: str, tmp_path: Path) -> None:
    catalog = _read(_catalog_path(language), locale=language)
    with (tmp_path / "messages.mo").open("wb") as fp:
        write_mo(fp, catalog)
    assert (tmp_path / "messages.mo").stat().st_size > 0


@pytest.fixture(scope="module")
def i18n() -> CatalogI18n:
    return CatalogI18n(path=LOCALES, default_locale="en", domain=DOMAIN)


def test_bot_loads_every_language(i18n: CatalogI18n) -> None:
    assert set(i18n.locales) == set(LANGUAGES)
    assert i18n.languages == ("en", "ja", "ru")


def test_english_is_the_source_text(i18n: CatalogI18n) -> None:
    assert i18n.gettext("Pending", locale="en") == "Pending"
    assert i18n.gettext(PLURAL_PROBE, PLURAL_PROBE_PLURAL, 5, locale="en") == PLURAL_PROBE_PLURAL


@pytest.mark.parametrize("language", LANGUAGES)
def test_bot_translates(i18n: CatalogI18n, language: str) -> None:
    expected = {"ru": "В ожидании", "ja": "保留中"}[language]
    assert i18n.gettext("Pending", locale=language) == expected


@pytest.mark.parametrize(("count", "form"), [(1, 0), (3, 1), (5, 2), (21, 0), (11, 2), (0, 2)])
def test_russian_picks_the_plural_form(i18n: CatalogI18n, count: int, form: int) -> None:
    forms = _read(_catalog_path("ru"), locale="ru")[PLURAL_PROBE].string
    assert len(set(forms)) == 3, "the probe's three Russian forms must differ"
    assert i18n.gettext(PLURAL_PROBE, PLURAL_PROBE_PLURAL, count, locale="ru") == forms[form]


@pytest.mark.parametrize("count", [1, 5])
def test_japanese_has_one_form(i18n: CatalogI18n, count: int) -> None:
    (form,) = _read(_catalog_path("ja"), locale="ja")[PLURAL_PROBE].string
    assert i18n.gettext(PLURAL_PROBE, PLURAL_PROBE_PLURAL, count, locale="ja") == form


@pytest.mark.parametrize(
    ("language", "number", "money"),
    [
        ("en", "1,234.5678", "1,234.5678 USD"),
        ("ru", "1\u00a0234,5678", "1\u00a0234,5678 USD"),
        ("ja", "1,234.5678", "1,234.5678 USD"),
    ],
)
def test_numbers_and_money_follow_the_locale(language: str, number: str, money: str) -> None:
    amount = Decimal("1234.5678")
    assert format_number(amount, language) == number
    assert format_money(amount, None, language) == number
    assert format_money(amount, "USD", language) == money


@pytest.mark.parametrize("language", ["en", "ru", "ja"])
def test_money_is_never_rounded(language: str) -> None:
    decimal_sign = "," if language == "ru" else "."
    assert format_number(Decimal("0.123456789"), language) == f"0{decimal_sign}123456789"
    assert format_number(Decimal("0.00000001"), language) == f"0{decimal_sign}00000001"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Nov 28, 2026, 11:05\u202fPM UTC"),
        ("ru", "28 нояб. 2026\u202fг., 23:05 UTC"),
        ("ja", "2026/11/28 23:05 UTC"),
    ],
)
def test_dates_follow_the_locale(language: str, text: str) -> None:
    moment = datetime(2026, 11, 28, 23, 5, tzinfo=UTC).timestamp()
    assert format_moment(moment, language) == text
