"""`picme review` in a real browser (headless Chromium from Debian's packages): keys pressed
in the page are stored and survive a server restart; two tabs deciding at once are both
kept; a file name and a caption that are markup render as text.

The server is the real command (`python -m picme.cli.app review`) in its own process group
on 127.0.0.1 and a free port; the test kills the group at the end."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from picme.lake import feedback
from picme.settings import get_settings
from tests.services import need
from tests.unit.review.albums import HOSTILE_CAPTION, HOSTILE_NAME, Album, make_album, tree_digest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "browser-test-token-5f2a9c"
START_TIMEOUT = 60.0
WAIT = 15.0


class ReviewServer:
    """`picme review` in a subprocess; ``url`` once it has said where it listens."""

    def __init__(self, album: Album, home: Path, token: str | None = None) -> None:
        cmd = [sys.executable, "-m", "picme.cli.app", "review", str(album.root),
               "--out", str(album.out), "--port", "0"]  # fmt: skip
        if token:
            cmd += ["--token", token]
        env = {**os.environ, "PICME_HOME": str(home), "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
            start_new_session=True, cwd=ROOT,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = self._wait_for_url()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if line.startswith("reviewing ") and " at http://127.0.0.1:" in line:
                return line.rsplit(" at ", 1)[1].strip()
        self.stop()
        raise AssertionError("the review server did not start:\n" + "".join(self.output))

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return self.proc.returncode


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Album]:
    base = tmp_path_factory.mktemp("browser-review")
    made = make_album(base, get_settings(home=base / "curate-home"))
    before = tree_digest(made.root)
    yield made
    assert tree_digest(made.root) == before  # served, decided, exported: album untouched


@pytest.fixture
def servers(album: Album, tmp_path: Path) -> Iterator[Any]:
    """Start servers over one lake (tmp_path/home); every one is killed at the end."""
    started: list[ReviewServer] = []
    home = tmp_path / "home"

    def start(token: str | None = None) -> ReviewServer:
        server = ReviewServer(album, home, token)
        started.append(server)
        return server

    start.home = home  # type: ignore[attr-defined]
    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    chromium = need("chromium", "/usr/bin/chromium")
    chromedriver = need("chromedriver", "/usr/bin/chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--disable-gpu"):  # fmt: skip
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


def _cards(browser: Any) -> list[Any]:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, "figure.card")


def _card(browser: Any, path: str) -> Any:
    return next(c for c in _cards(browser) if c.get_attribute("data-path") == path)


def _until(browser: Any, check: Any, what: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT).until(lambda b: check(b), message=what)


def _press(browser: Any, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(keys).perform()


def _select(browser: Any, path: str) -> None:
    from selenium.webdriver.common.by import By

    _card(browser, path).find_element(By.CSS_SELECTOR, "code.name").click()


def _decisions(home: Path, album: Album) -> dict[str, str]:
    table = feedback.current(get_settings(home=home), album.root)
    return {r["path"]: r["decision"] for r in table.to_pylist()}


def _screenshot(browser: Any, path: Path) -> None:
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 5000  # a real rendered page, not an empty image


def test_keys_are_stored_and_survive_a_server_restart(
    driver: Any, servers: Any, album: Album, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    server = servers(TOKEN)
    driver.get(server.url + "?token=" + TOKEN)
    assert TOKEN not in driver.current_url  # traded for a cookie at once
    _until(driver, lambda b: len(_cards(b)) >= 10, "the cards")
    first, second = (c.get_attribute("data-path") for c in _cards(driver)[:2])
    _press(driver, "k" + Keys.ARROW_RIGHT + "x")
    # p on a sibling: picme's chosen photo of that group becomes a duplicate.
    decided_groups = {_card(driver, p).get_attribute("data-group") for p in (first, second)}
    sibling = next(
        c.get_attribute("data-path")
        for c in _cards(driver)
        if c.get_attribute("data-status") == "duplicate"
        and c.get_attribute("data-group") not in decided_groups | {""}
        and c.get_attribute("data-path") not in ("escape.jpg", HOSTILE_NAME)
    )
    group = _card(driver, sibling).get_attribute("data-group")
    chosen = next(
        c.get_attribute("data-path")
        for c in _cards(driver)
        if c.get_attribute("data-group") == group
        and c.get_attribute("data-status") in ("picked", "alternative")
    )
    _select(driver, sibling)
    _press(driver, "p")
    _until(
        driver,
        lambda b: _card(b, chosen).get_attribute("data-status") == "duplicate",
        "the group's former pick turns duplicate",
    )
    want = {first: "keep", second: "reject", sibling: "pick"}
    _until(driver, lambda b: _decisions(servers.home, album) == want, f"stored {want}")
    _screenshot(driver, tmp_path / "decided.png")
    assert TOKEN not in driver.page_source

    assert server.stop() is not None
    again = servers(TOKEN)
    driver.get(again.url)  # the cookie is per host, not per port: no token needed again
    _until(driver, lambda b: len(_cards(b)) >= 10, "the cards after the restart")
    for path, decision in want.items():
        assert _card(driver, path).get_attribute("data-decision") == decision
    assert _card(driver, second).get_attribute("data-status") == "rejected"
    assert _card(driver, sibling).get_attribute("data-status") == "picked"
    assert _card(driver, chosen).get_attribute("data-status") == "duplicate"
    _screenshot(driver, tmp_path / "reopened.png")
    again.stop()
    assert not any(TOKEN in line for s in (server, again) for line in s.output)


def test_two_tabs_deciding_at_once_are_both_kept(
    driver: Any, servers: Any, album: Album, tmp_path: Path
) -> None:
    server = servers()
    driver.get(server.url)
    _until(driver, lambda b: len(_cards(b)) >= 10, "the cards")
    paths = [
        c.get_attribute("data-path")
        for c in _cards(driver)
        if c.get_attribute("data-path") != "escape.jpg"  # a link out of the album: refused
    ][:8]
    tab_a = driver.current_window_handle
    driver.switch_to.new_window("window")
    tab_b = driver.current_window_handle
    driver.get(server.url)
    _until(driver, lambda b: len(_cards(b)) >= 10, "the cards in the second window")
    # Each window clicks its buttons at the same wall-clock moment.
    fire = (
        "const [paths, d, at] = arguments;"
        "setTimeout(() => { for (const c of document.querySelectorAll('figure.card'))"
        "  if (paths.includes(c.dataset.path)) c.querySelector(`button[data-d=${d}]`).click();"
        "}, Math.max(0, at - Date.now()));"
    )
    at = int(time.time() * 1000) + 1000
    driver.switch_to.window(tab_a)
    driver.execute_script(fire, paths[:4], "keep", at)
    driver.switch_to.window(tab_b)
    driver.execute_script(fire, paths[4:], "reject", at)
    want = {**dict.fromkeys(paths[:4], "keep"), **dict.fromkeys(paths[4:], "reject")}
    _until(driver, lambda b: _decisions(servers.home, album) == want, f"stored {want}")
    rows = feedback.read_all(get_settings(home=servers.home), album.root).num_rows
    assert rows == 8
    driver.close()
    driver.switch_to.window(tab_a)
    driver.refresh()
    _until(driver, lambda b: len(_cards(b)) >= 10, "the cards after reloading")
    for path, decision in want.items():
        assert _card(driver, path).get_attribute("data-decision") == decision
    _screenshot(driver, tmp_path / "two-tabs.png")


def test_a_hostile_file_name_and_caption_render_as_text(
    driver: Any, servers: Any, tmp_path: Path
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    server = servers()
    driver.get(server.url)
    _until(driver, lambda b: len(_cards(b)) >= 10, "the cards")
    card = _card(driver, HOSTILE_NAME)  # the attribute decodes back to the exact name
    assert card.find_element(By.CSS_SELECTOR, "code.name").text == HOSTILE_NAME
    caption = driver.find_element(By.CSS_SELECTOR, "q.caption").text
    assert caption == " ".join(HOSTILE_CAPTION.split())
    assert driver.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
    scripts = driver.find_elements(By.TAG_NAME, "script")
    assert [s.get_attribute("src").rsplit("/", 1)[1] for s in scripts] == ["review.js"]
    # Deciding about it round-trips the name through JSON and back into the page.
    card.find_element(By.CSS_SELECTOR, "button[data-d=star]").click()
    _until(
        driver,
        lambda b: _card(b, HOSTILE_NAME).get_attribute("data-decision") == "star",
        "the star on the hostile photo",
    )
    assert HOSTILE_NAME in driver.find_element(By.ID, "msg").text
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    _screenshot(driver, tmp_path / "hostile.png")
