"""The person's decisions applied to a curation: final statuses and picks (pure, no I/O).

Rules (docs/curation.md, "Review in the browser"):

- keep or star: the photo is a pick (a star also ranks it first among the picks);
- reject: the photo is out (status ``rejected``, by the person), whatever picme said;
- pick on a member of a near-duplicate group: it becomes the group's chosen photo and a
  pick, taking the rank of the photo it replaces; the replaced one becomes a ``duplicate``
  unless the person kept or starred it too. When several members carry ``pick``, the
  latest decision wins. ``pick`` on a photo outside any group is a keep;
- no decision (or ``clear``): picme's status stands. A file picme skipped (not a photo,
  undecodable) stays skipped.

curation.json files written before the ``alternative`` status read ``rejected`` for a good
photo that only missed the top K (its ``kept`` flag is set): it is read as ``alternative``.
Picks are ordered: starred first, then by picme's rank (new picks after picme's, by score).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATUSES = ("picked", "alternative", "duplicate", "rejected", "skipped")
AS_PICK = frozenset({"keep", "star", "pick"})


@dataclass(frozen=True)
class Decided:
    """One decision in force for a photo (the latest for its path)."""

    decision: str
    decided_at: datetime


@dataclass(frozen=True)
class Final:
    """A photo after review: picme's view, the person's decision, the outcome."""

    path: str
    picme_status: str
    status: str
    decision: str | None
    starred: bool
    rank: int | None  # 1-based place among the final picks
    group: int | None
    score: float | None
    by_person: bool  # the person's decision changed picme's status


@dataclass(frozen=True)
class Applied:
    entries: list[Final]
    picks: list[str]  # paths in final rank order

    def by_path(self) -> dict[str, Final]:
        return {e.path: e for e in self.entries}

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for e in self.entries:
            out[e.status] = out.get(e.status, 0) + 1
        out["decided"] = sum(e.decision is not None for e in self.entries)
        return out


def picme_status(entry: Mapping[str, Any]) -> str:
    """picme's status of a curation.json entry (older files are read into today's statuses
    by picme.review.session)."""
    status = str(entry.get("status", "skipped"))
    return status if status in STATUSES else "skipped"


def _group_of(entry: Mapping[str, Any]) -> int | None:
    g = entry.get("group")
    if g is None or int(entry.get("group_size", 1) or 1) < 2:
        return None
    return int(g)


def _group_winners(
    files: list[Mapping[str, Any]], decisions: Mapping[str, Decided]
) -> dict[int, str]:
    """Group -> the member the person picked last (groups with a ``pick`` decision only)."""
    latest: dict[int, tuple[datetime, str]] = {}
    for e in files:
        g, d = _group_of(e), decisions.get(e["path"])
        if g is None or d is None or d.decision != "pick" or picme_status(e) == "skipped":
            continue
        if g not in latest or (d.decided_at, e["path"]) > latest[g]:
            latest[g] = (d.decided_at, e["path"])
    return {g: path for g, (_, path) in latest.items()}


def _outcome(
    base: str, decided: Decided | None, replaced: bool, superseded_pick: bool
) -> tuple[str, str | None]:
    """(final status, decision) of one photo."""
    decision = decided.decision if decided is not None else None
    if base == "skipped":
        return base, decision
    if decision == "reject":
        return "rejected", decision
    if decision in ("keep", "star") or (decision == "pick" and not superseded_pick):
        return "picked", decision
    if replaced or superseded_pick:
        return "duplicate", decision
    return base, decision


def apply_decisions(
    files: Iterable[Mapping[str, Any]], decisions: Mapping[str, Decided]
) -> Applied:
    """The final status of every curation.json entry in ``files`` under ``decisions``
    (path -> the decision in force), and the final picks in rank order."""
    files = list(files)
    winners = _group_winners(files, decisions)
    # picme's chosen photo of a group -> the member the person picked instead.
    swaps = {
        e["path"]: winners[g]
        for e in files
        if e.get("kept") and (g := _group_of(e)) in winners and winners[g] != e["path"]
    }
    inherited = {new: old for old, new in swaps.items()}
    rank_of = {e["path"]: e.get("rank") for e in files if picme_status(e) == "picked"}
    out: list[Final] = []
    for e in files:
        path = e["path"]
        base = picme_status(e)
        decided = decisions.get(path)
        g = _group_of(e)
        superseded = (
            decided is not None
            and decided.decision == "pick"
            and g is not None
            and winners.get(g) != path
        )
        status, decision = _outcome(base, decided, path in swaps, superseded)
        score = e.get("score")
        out.append(
            Final(
                path=path,
                picme_status=base,
                status=status,
                decision=decision,
                starred=decision == "star" and status == "picked",
                rank=None,
                group=g,
                score=None if score is None else float(score),
                by_person=status != base,
            )
        )
    picks = sorted(
        (f for f in out if f.status == "picked"),
        key=lambda f: _pick_key(f, rank_of.get(inherited.get(f.path, f.path))),
    )
    ranks = {f.path: r for r, f in enumerate(picks, start=1)}
    final = [_with_rank(f, ranks.get(f.path)) for f in out]
    return Applied(entries=final, picks=[f.path for f in picks])


def _pick_key(f: Final, picme_rank: Any) -> tuple[bool, float, float, str]:
    rank = float(picme_rank) if picme_rank is not None else math.inf
    score = f.score if f.score is not None and math.isfinite(f.score) else -math.inf
    return (not f.starred, rank, -score, f.path)


def _with_rank(f: Final, rank: int | None) -> Final:
    return f if rank == f.rank else dataclasses.replace(f, rank=rank)
