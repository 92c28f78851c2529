"""Redaction of Instagram secrets in text and log records (picme.util.logsafe)."""

from __future__ import annotations

import logging

import pytest

from picme.util import logsafe
from picme.util.logsafe import MASK, RedactingFilter, redact, register_secret


@pytest.fixture(autouse=True)
def _clean() -> None:
    logsafe.forget_secrets()


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("Cookie: sessionid=abc123456; csrftoken=tok987654; x=1", "x=1", ["abc123", "tok987"]),
        ('{"sessionid": "s3cr3t-value", "user": "bob"}', '"user": "bob"', ["s3cr3t"]),
        ("{'csrftoken': 'TOKENVALUE', 'mid': 'MIDVALUE'}", "csrftoken", ["TOKENVAL", "MIDVAL"]),
        ("Authorization: Bearer IGT:2:eyJkc191c2VyX2lkIjoiMSJ9", "Authorization", ["eyJkc"]),
        ("enc_password=#PWD_INSTAGRAM_BROWSER:0:1700:hunter2&username=bob", "bob", ["hunter2"]),
        ("x-csrftoken: abcdef123", "x-csrftoken", ["abcdef123"]),
    ],
)
def test_secret_shaped_text_is_masked(text: str, kept: str, gone: list[str]) -> None:
    out = redact(text)
    assert kept in out and MASK in out
    assert not any(g in out for g in gone)


def test_ordinary_text_is_left_alone() -> None:
    text = "downloaded 12 posts of @humid.mid (ids 123456, 987654) in 3 s"
    assert redact(text) == text


def test_registered_values_are_masked_wherever_they_appear() -> None:
    register_secret("QmFzZTY0U2Vzc2lvbg")
    register_secret("abc")  # too short to mask safely: ignored
    out = redact("error: bad request for QmFzZTY0U2Vzc2lvbg at /abc/")
    assert out == f"error: bad request for {MASK} at /abc/"


def test_filter_masks_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("SeSsIoN-0123456789")
    log = logging.getLogger("picme.test_logsafe")
    logsafe.install("picme.test_logsafe")
    logsafe.install("picme.test_logsafe")
    assert sum(isinstance(f, RedactingFilter) for f in log.filters) == 1
    caplog.set_level(logging.DEBUG, logger="picme.test_logsafe")
    log.warning("cookie %s and %s", "SeSsIoN-0123456789", "sessionid=other-value")
    try:
        raise RuntimeError("request failed with SeSsIoN-0123456789")
    except RuntimeError:
        log.exception("boom")
    assert "SeSsIoN-0123456789" not in caplog.text
    assert "other-value" not in caplog.text
    assert f"cookie {MASK} and sessionid={MASK}" in caplog.text
    assert "RuntimeError: request failed with ***" in caplog.text
