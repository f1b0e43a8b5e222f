"""A headless Chromium for the sandbox page's tests, and where their screenshots go.

Chromium is Debian's (`apt-get install chromium`; `.ci/run` installs it): Playwright drives it
through its executable, as Playwright's own browser download is not available.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots for a person to look at; the folder is ignored by git.
OUTPUT = Path(__file__).resolve().parent.parent / "output" / "sandbox_page"
# How long the page may take to show what the bot did (the tracker polls every 0.3 s here);
# only a failing test waits that long.
SHOWN_WITHIN_MS = 15_000
expect.set_options(timeout=SHOWN_WITHIN_MS)


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run does it)")
    return path


async def screenshot(page: Page, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    await page.screenshot(path=str(path))
    return path
