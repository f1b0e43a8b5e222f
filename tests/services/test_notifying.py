"""What to tell and when is a business rule: the notifier knows no Telegram library."""

from __future__ import annotations

import ast
import inspect

from bot.services import notifying


def test_the_notifier_imports_no_telegram_library() -> None:
    tree = ast.parse(inspect.getsource(notifying))
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert imported and not {name for name in imported if name.split(".")[0] == "aiogram"}
    assert not {name for name in imported if name.startswith(("bot.views", "bot.keyboards"))}
