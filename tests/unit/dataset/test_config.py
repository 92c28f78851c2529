"""FeaturesConfig: only the options given override the environment, and bad values fail
before any image is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from picme.dataset.config import FeaturesConfig
from picme.dataset.run import features_settings
from picme.errors import InputError
from picme.settings import get_settings


def test_defaults_override_nothing() -> None:
    assert FeaturesConfig().settings_overrides() == {}
    given = FeaturesConfig(workers=3, split="time", threshold=0.5, include_videos=True)
    assert given.settings_overrides() == {
        "workers": 3,
        "split": "time",
        "engagement_threshold": 0.5,
        "include_videos": True,
    }


def test_the_environment_holds_where_no_option_is_given(
    picme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PICME_INCLUDE_VIDEOS", "1")
    monkeypatch.setenv("PICME_SPLIT", "time")
    from_env = features_settings(FeaturesConfig(threshold=0.2))
    assert from_env.include_videos and from_env.split == "time"
    assert from_env.engagement_threshold == 0.2 and from_env.workers == 2
    # Given settings (a flow's, with its home) are kept, the options applied on top.
    base = get_settings(home=picme_home / "elsewhere")
    applied = features_settings(FeaturesConfig(split="account", include_videos=False), base)
    assert applied.home == base.home and applied.split == "account"
    assert not applied.include_videos


def test_bad_options_fail_at_once(picme_home: Path) -> None:
    with pytest.raises(InputError, match="split 'sideways' is unknown"):
        features_settings(FeaturesConfig(split="sideways"))
