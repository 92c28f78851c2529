"""The pure rule that applies a person's decisions to a curation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from picme.review.decisions import Decided, apply_decisions, picme_status

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _e(path: str, status: str, score: float, *, group: int, size: int = 1, kept: bool = False,
       rank: int | None = None) -> dict[str, Any]:  # fmt: skip
    return {"path": path, "status": status, "score": score, "group": group,
            "group_size": size, "kept": kept, "rank": rank}  # fmt: skip


def _files() -> list[dict[str, Any]]:
    return [
        _e("a1.jpg", "picked", 0.9, group=1, size=3, kept=True, rank=1),
        _e("a2.jpg", "duplicate", 0.8, group=1, size=3),
        _e("a3.jpg", "duplicate", 0.7, group=1, size=3),
        _e("b.jpg", "picked", 0.6, group=2, kept=True, rank=2),
        _e("c.jpg", "alternative", 0.5, group=3, kept=True),
        _e("d.jpg", "alternative", 0.55, group=4, kept=True),
        _e("e.jpg", "rejected", 0.1, group=5),  # failed the quality gate
        {"path": "f.txt", "status": "skipped", "score": None, "group": None, "kept": False},
    ]


def _at(*pairs: tuple[str, str], start: datetime = T0) -> dict[str, Decided]:
    return {p: Decided(d, start + timedelta(seconds=i)) for i, (p, d) in enumerate(pairs)}


def _status(files: list[dict[str, Any]], decisions: dict[str, Decided]) -> dict[str, str]:
    return {e.path: e.status for e in apply_decisions(files, decisions).entries}


def test_without_decisions_picmes_statuses_and_picks_stand() -> None:
    applied = apply_decisions(_files(), {})
    assert applied.picks == ["a1.jpg", "b.jpg"]
    assert _status(_files(), {}) == {
        "a1.jpg": "picked", "a2.jpg": "duplicate", "a3.jpg": "duplicate", "b.jpg": "picked",
        "c.jpg": "alternative", "d.jpg": "alternative", "e.jpg": "rejected", "f.txt": "skipped",
    }  # fmt: skip
    assert not any(e.by_person or e.decision for e in applied.entries)
    assert picme_status({"status": "rejected", "kept": False}) == "rejected"
    # The best of a shot can fail the quality gate: it stays rejected.
    assert picme_status({"status": "rejected", "kept": True}) == "rejected"


def test_keep_adds_a_pick_after_picmes_and_reject_removes_one() -> None:
    applied = apply_decisions(
        _files(), _at(("c.jpg", "keep"), ("e.jpg", "keep"), ("a1.jpg", "reject"))
    )
    assert applied.picks == ["b.jpg", "c.jpg", "e.jpg"]  # picme's rank first, then by score
    by = applied.by_path()
    assert by["a1.jpg"].status == "rejected" and by["a1.jpg"].by_person
    assert by["c.jpg"].status == "picked" and by["c.jpg"].rank == 2
    # Rejecting the chosen photo of a group promotes no sibling: the person decides that.
    assert by["a2.jpg"].status == "duplicate"


def test_a_star_is_a_pick_ranked_first() -> None:
    applied = apply_decisions(_files(), _at(("d.jpg", "star")))
    assert applied.picks == ["d.jpg", "a1.jpg", "b.jpg"]
    assert applied.by_path()["d.jpg"].starred


def test_pick_on_a_sibling_swaps_the_groups_pick_and_keeps_its_rank() -> None:
    applied = apply_decisions(_files(), _at(("a3.jpg", "pick")))
    assert applied.picks == ["a3.jpg", "b.jpg"]
    by = applied.by_path()
    assert by["a1.jpg"].status == "duplicate" and by["a1.jpg"].by_person
    assert by["a3.jpg"].status == "picked" and by["a3.jpg"].rank == 1


def test_the_latest_pick_in_a_group_wins() -> None:
    later = _at(("a2.jpg", "pick"), ("a3.jpg", "pick"))
    assert _status(_files(), later)["a3.jpg"] == "picked"
    assert _status(_files(), later)["a2.jpg"] == "duplicate"
    earlier = _at(("a3.jpg", "pick"), ("a2.jpg", "pick"))
    assert _status(_files(), earlier)["a2.jpg"] == "picked"
    assert _status(_files(), earlier)["a3.jpg"] == "duplicate"
    # Picking picme's own choice back undoes the swap.
    back = _at(("a3.jpg", "pick"), ("a1.jpg", "pick"))
    assert apply_decisions(_files(), back).picks == ["a1.jpg", "b.jpg"]


def test_a_replaced_photo_the_person_kept_stays_a_pick() -> None:
    applied = apply_decisions(_files(), _at(("a1.jpg", "keep"), ("a2.jpg", "pick")))
    assert set(applied.picks) == {"a1.jpg", "a2.jpg", "b.jpg"}


def test_pick_outside_a_group_is_a_keep_and_skipped_files_stay_skipped() -> None:
    status = _status(_files(), _at(("c.jpg", "pick"), ("f.txt", "keep")))
    assert status["c.jpg"] == "picked"
    assert status["f.txt"] == "skipped"
