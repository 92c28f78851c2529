"""GenerateConfig: `picme generate`'s options reach the generator; without --out the sample
goes to the raw folder it is given."""

from __future__ import annotations

from pathlib import Path

from picme.synthetic.config import GenerateConfig
from picme.synthetic.instagram import generate_from_config


def test_generate_from_config_defaults_to_the_raw_folder(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    config = GenerateConfig(accounts=1, posts=2, seed=5, image_size=32)
    summary = generate_from_config(config, raw)
    assert summary.out_dir == raw and summary.n_posts == 2 and len(summary.accounts) == 1
    elsewhere = tmp_path / "elsewhere"
    assert generate_from_config(config.model_copy(update={"out": elsewhere}), raw).out_dir == (
        elsewhere
    )
