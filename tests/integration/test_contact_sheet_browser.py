"""The contact sheet in a real browser (headless Chromium): statuses and their words, 0-100
scores, sorting, filtering, the larger view with its keys, a group side by side, and
hostile album and file names rendered as text. Screenshots are saved and checked."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from picme.settings import get_settings
from picme.synthetic.album import generate_album
from tests.browser import browser, no_alert, screenshot

__all__ = ["browser"]  # the fixture, imported for the tests below

HOSTILE_ALBUM = "Trip \"<img src=x onerror=alert(1)>\" 'q'"
# A folder "<script>alert(1)<" holding "script>.jpg": the album-relative path is the
# classic payload, which no single file name can be (it holds a slash).
HOSTILE_FILE = "<script>alert(1)</script>.jpg"


@pytest.fixture(scope="module")
def sheet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from picme.curate.run import curate_album

    root = tmp_path_factory.mktemp("sheet") / HOSTILE_ALBUM
    spec = generate_album(root, n_bursts=3, burst_size=3, n_singles=5, size=(320, 240))
    src = root / spec.items[-1].path
    (root / "<script>alert(1)<").mkdir()
    img = Image.open(src).convert("RGB")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS <R5>"
    img.save(root / HOSTILE_FILE, quality=90, exif=exif.tobytes())
    settings = get_settings(home=tmp_path_factory.mktemp("home"))
    result = curate_album(root, top=3, workers=1, model="heuristic", settings=settings)
    return result.html_path, json.loads(result.json_path.read_text())


def _cards(driver: Any) -> list[Any]:
    return [c for c in driver.find_elements("css selector", "#grid .card") if c.is_displayed()]


def _key(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


@pytest.mark.slow
def test_statuses_scores_and_hostile_names_as_text(
    browser: Any, sheet: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    html_path, doc = sheet
    driver = browser
    driver.get(html_path.as_uri())
    assert no_alert(driver)
    assert screenshot(driver, tmp_path / "sheet.png")[0] > 0

    # The album's folder name (as text) is the title, never the absolute path.
    assert driver.title == f"{HOSTILE_ALBUM}: PicMe contact sheet"
    assert driver.find_element(By.ID, "album").text == HOSTILE_ALBUM
    assert driver.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 2
    hostile = [
        c
        for c in _cards(driver)
        if c.find_element(By.CSS_SELECTOR, "code.name").text == HOSTILE_FILE
    ]
    assert len(hostile) == 1 and "Canon EOS <R5>" in hostile[0].text
    assert hostile[0].find_elements(By.TAG_NAME, "script") == []
    # The script's views put the same names in as text too.
    hostile[0].find_element(By.CSS_SELECTOR, "button.open").click()
    assert driver.find_element(By.CSS_SELECTOR, "#viewer-caption code.name").text == HOSTILE_FILE
    assert "Canon EOS <R5>" in driver.find_element(By.ID, "viewer-caption").text
    _key(driver, Keys.ESCAPE)
    hostile[0].find_element(By.CSS_SELECTOR, "button.compare").click()
    names = driver.find_elements(By.CSS_SELECTOR, "#compare figure.member code.name")
    assert HOSTILE_FILE in [n.text for n in names]
    _key(driver, Keys.ESCAPE)
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 2
    assert driver.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
    assert no_alert(driver)

    # Every analysed photo has a card with its status word and a 0-100 score whose title
    # holds the raw value.
    by_path = {e["path"]: e for e in doc["files"] if e["status"] != "skipped"}
    cards = _cards(driver)
    assert len(cards) == len(by_path)
    statuses = set()
    for card in cards:
        path = card.find_element(By.CSS_SELECTOR, "code.name").text
        e = by_path[path]
        word = card.find_element(By.CSS_SELECTOR, ".status").text.lower()
        assert word.endswith(e["status"]), (word, e)
        statuses.add(e["status"])
        score = card.find_element(By.CSS_SELECTOR, ".score")
        assert score.text.replace("\n", "") == f"{e['score_100']}/100"
        assert 0 <= e["score_100"] <= 100
        assert f"raw score {e['score']:.4f}" in score.get_attribute("title")
    assert {"picked", "alternative", "duplicate", "rejected"} <= statuses
    assert "Skipped" not in driver.find_element(By.TAG_NAME, "body").text


@pytest.mark.slow
def test_sorting_and_filtering(
    browser: Any, sheet: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    html_path, doc = sheet
    driver = browser
    driver.get(html_path.as_uri())
    assert no_alert(driver)
    by_path = {e["path"]: e for e in doc["files"] if e["status"] != "skipped"}

    def names() -> list[str]:
        return [c.find_element(By.CSS_SELECTOR, "code.name").text for c in _cards(driver)]

    picks_first = names()
    assert picks_first[: len(doc["picks"])] == doc["picks"]
    Select(driver.find_element(By.ID, "sort")).select_by_value("name")
    assert names() == sorted(by_path)
    Select(driver.find_element(By.ID, "sort")).select_by_value("score")
    scores = [by_path[n]["score"] for n in names()]
    assert scores == sorted(scores, reverse=True) and names() != sorted(by_path)
    Select(driver.find_element(By.ID, "sort")).select_by_value("date")
    dated = [by_path[n]["captured_at"] for n in names() if by_path[n]["captured_at"]]
    assert dated == sorted(dated) and len(dated) >= 3
    for status in ("duplicate", "rejected", "alternative"):
        driver.find_element(By.CSS_SELECTOR, f"input.filter[value='{status}']").click()
    assert sorted(names()) == sorted(doc["picks"])
    assert driver.find_element(By.ID, "shown").text.startswith(f"{len(doc['picks'])} of ")
    screenshot(driver, tmp_path / "filtered.png")


@pytest.mark.slow
def test_larger_view_moves_with_arrow_keys_and_closes_with_esc(
    browser: Any, sheet: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    html_path, doc = sheet
    driver = browser
    driver.get(html_path.as_uri())
    assert no_alert(driver)
    Select(driver.find_element(By.ID, "sort")).select_by_value("rank")
    _cards(driver)[0].find_element(By.CSS_SELECTOR, "button.open").click()
    viewer = driver.find_element(By.ID, "viewer")
    assert viewer.is_displayed()
    order = [c.find_element(By.CSS_SELECTOR, "code.name").text for c in _cards(driver)]

    def shown() -> str:
        return str(driver.find_element(By.CSS_SELECTOR, "#viewer-caption code.name").text)

    assert shown() == order[0] == doc["picks"][0]
    _key(driver, Keys.ARROW_RIGHT)
    assert shown() == order[1]
    _key(driver, Keys.ARROW_LEFT)
    _key(driver, Keys.ARROW_LEFT)  # wraps round to the last photo shown
    assert shown() == order[-1]
    # Only the photos shown are visited: with picks alone, the last pick.
    _key(driver, Keys.ESCAPE)
    for status in ("duplicate", "rejected", "alternative"):
        driver.find_element(By.CSS_SELECTOR, f"input.filter[value='{status}']").click()
    _cards(driver)[0].find_element(By.CSS_SELECTOR, "button.open").click()
    _key(driver, Keys.ARROW_LEFT)
    assert shown() == doc["picks"][-1]
    img = driver.find_element(By.ID, "viewer-img")
    for _ in range(50):  # the full-size file loads from the album
        if driver.execute_script("return arguments[0].complete", img):
            break
        time.sleep(0.05)
    assert driver.execute_script("return arguments[0].naturalWidth", img) > 0
    screenshot(driver, tmp_path / "viewer.png")
    _key(driver, Keys.ESCAPE)
    assert not viewer.is_displayed()


@pytest.mark.slow
def test_a_group_side_by_side(
    browser: Any, sheet: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    html_path, doc = sheet
    driver = browser
    driver.get(html_path.as_uri())
    assert no_alert(driver)
    group = doc["groups"][0]
    driver.find_element(
        By.CSS_SELECTOR, f"section.group button[data-group='{group['id']}']"
    ).click()
    compare = driver.find_element(By.ID, "compare")
    assert compare.is_displayed()
    members = compare.find_elements(By.CSS_SELECTOR, "figure.member")
    shown = [m.find_element(By.CSS_SELECTOR, "code.name").text for m in members]
    assert sorted(shown) == sorted(group["members"])
    kept = compare.find_elements(By.CSS_SELECTOR, "figure.member.kept code.name")
    assert [k.text for k in kept] == [group["kept"]]
    assert all(m.find_elements(By.CSS_SELECTOR, "table tr") for m in members)
    screenshot(driver, tmp_path / "group.png")
    _key(driver, Keys.ESCAPE)
    assert not compare.is_displayed()

    assert no_alert(driver)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
