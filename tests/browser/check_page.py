"""Both checks every page gets: axe at each width, and a screenshot at each width."""

from __future__ import annotations

from typing import Any

from tests.browser.axe import assert_accessible
from tests.browser.screenshots import WIDTHS, screenshot


def check_page(page: Any, name: str, *, widths: tuple[int, ...] = WIDTHS) -> None:
    """Resize the page to each width (360 px phone, 1280 px desktop), reload, run axe
    and take a full-page screenshot. The page's viewport is restored afterwards."""
    original = page.viewport_size
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            page.reload()
            page.wait_for_load_state("load")
            assert_accessible(page, name)
            screenshot(page, name)
    finally:
        if original:
            page.set_viewport_size(original)
