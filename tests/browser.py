"""A real browser for tests: Debian's headless Chromium driven by Selenium.

Use the ``browser`` fixture (import it into the test module: ``from tests.browser import
browser``); it skips where chromium or chromedriver is missing and fails in CI (see
tests/services.py). Pages are opened from ``file://``; nothing goes to the network.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import need

WINDOW = (1280, 900)


def chrome(chromium: str, chromedriver: str, window: tuple[int, int] = WINDOW) -> Any:
    """A headless Chromium session (the caller quits it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={window[0]},{window[1]}",
    ):
        options.add_argument(arg)
    # Explicit paths: Selenium Manager would otherwise try to download a driver.
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium session for a test module (starting one takes a second or two)."""
    chromium = need("chromium", "/usr/bin/chromium")
    chromedriver = need("chromedriver", "/usr/bin/chromedriver")
    driver = chrome(chromium, chromedriver)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (asserts it is one)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def screenshot(driver: Any, path: Path) -> tuple[int, int]:
    """Save the viewport as a PNG at ``path``; checks it is a non-empty PNG of the
    viewport's size (in device pixels) and returns that size."""
    data = driver.get_screenshot_as_png()
    path.write_bytes(data)
    w, h, ratio = driver.execute_script(
        "return [window.innerWidth, window.innerHeight, window.devicePixelRatio]"
    )
    size = png_size(path.read_bytes())
    assert size == (round(w * ratio), round(h * ratio)), (size, w, h, ratio)
    assert path.stat().st_size > 1000
    return size


def no_alert(driver: Any) -> bool:
    """True when no JavaScript dialog is open."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert.text  # noqa: B018  # raises when there is none
    except NoAlertPresentException:
        return True
    return False
