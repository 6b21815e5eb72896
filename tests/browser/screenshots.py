"""Screenshots for people to look at: test-artifacts/screenshots/<name>-<width>.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.artifacts import SCREENSHOTS, safe_name

WIDTHS = (360, 1280)


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot of the page as it is now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = SCREENSHOTS / f"{safe_name(name)}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
