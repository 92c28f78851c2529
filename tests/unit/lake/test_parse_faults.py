"""Malformed metadata names the file's missing field, not instaloader's bare assertion."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest

from picme.lake.parse import BadFile, load_structure, offline_context


def _write(path: Path, node: dict) -> Path:
    with lzma.open(path, "wt", encoding="utf-8") as fh:
        json.dump({"node": node, "instaloader": {"version": "4.16", "node_type": "Post"}}, fh)
    return path


def test_a_post_without_a_shortcode_names_the_field(tmp_path: Path) -> None:
    field = "shortcode"
    node = {
        "__typename": "GraphImage",
        "id": "1",
        "shortcode": "ABC",
        "taken_at_timestamp": 1700000000,
        "owner": {"id": "2", "username": "someone"},
    }
    del node[field]
    with pytest.raises(BadFile, match=rf"metadata field '{field}' is missing"):
        load_structure(offline_context(), _write(tmp_path / "post.json.xz", node))
