"""Maintaining the translation catalogues: `python -m bot.catalogs extract|update|init LANG`.

`extract` writes locales/messages.pot from the code; `update` merges it into every
locales/<lang>/LC_MESSAGES/messages.po; `init LANG` starts a new language. Nothing needs
compiling: the bot compiles the `.po` files in memory when it starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
TEMPLATE = LOCALES / "messages.pot"
# `_` takes one message, or a singular, a plural and a count (aiogram's gettext); `__` is lazy.
KEYWORDS = ["-k", "_:1,1t", "-k", "_:1,2,3t", "-k", "__"]


def main(argv: list[str]) -> None:
    if (
        not argv
        or argv[0] not in ("extract", "update", "init")
        or (argv[0] == "init") != (len(argv) == 2)
    ):
        raise SystemExit(__doc__)
    cli = CommandLineInterface()
    base = ["pybabel", "-q"]
    if argv[0] == "extract":
        cli.run(
            [
                *base,
                "extract",
                *KEYWORDS,
                "--no-location",
                "--sort-output",
                "-o",
                str(TEMPLATE),
                "--project",
                "smm-panel-bot",
                str(ROOT / "bot"),
            ]
        )
    elif argv[0] == "update":
        cli.run([*base, "update", "-i", str(TEMPLATE), "-d", str(LOCALES), "--no-fuzzy-matching"])
    else:
        cli.run([*base, "init", "-i", str(TEMPLATE), "-d", str(LOCALES), "-l", argv[1]])


if __name__ == "__main__":
    main(sys.argv[1:])
