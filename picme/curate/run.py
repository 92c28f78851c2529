"""``picme curate``: score an album, group near-duplicates, pick diverse highlights, explain.

The album is only read. Photos stream through a process pool in small chunks: each worker
decodes a photo once at reduced size and returns a few hundred bytes (features, hash,
embedding, capture time, a score or the scorer-sized pixels) after writing its thumbnail,
so memory stays flat in the album's size. Grouping, the quality gate and the diversity-aware
top K then work on those small arrays (:mod:`picme.curation`). Everything is written to a
hidden folder beside the output and renamed into place at the end: an interrupted run never
leaves a half-written result, and an earlier result stays until the new one is complete.

Output (format documented in docs/curation.md): ``curation.json`` (one entry per file),
``highlights/`` (copies of the picks in rank order), ``thumbs/`` and ``saliency/`` (small
JPEGs) and ``index.html`` (the contact sheet). Same album, same model: same output.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from picme.curate.analyze import Analysed, Collected
from picme.errors import InputError, PicmeError

if TYPE_CHECKING:
    from picme.scoring.base import Scorer
    from picme.settings import Settings

log = logging.getLogger(__name__)

JSON_NAME = "curation.json"
HTML_NAME = "index.html"
SCORE_BATCH = 32
CHUNK = 8


@dataclass
class CurationResult:
    album: Path
    out_dir: Path
    scorer_name: str
    scorer_version: str | None
    top: int
    counts: dict[str, int] = field(default_factory=dict)
    picks: list[str] = field(default_factory=list)
    n_groups: int = 0  # groups of two or more near-duplicates
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def json_path(self) -> Path:
        return self.out_dir / JSON_NAME

    @property
    def html_path(self) -> Path:
        return self.out_dir / HTML_NAME

    def summary(self) -> str:
        c = self.counts
        version = f" version {self.scorer_version}" if self.scorer_version else ""
        lines = [
            f"curated {self.album}: {c.get('files', 0)} files in {self.seconds:.1f} s "
            f"with the {self.scorer_name} scorer{version}",
            f"  {c.get('picked', 0)} picked, {c.get('duplicate', 0)} duplicates "
            f"(in {self.n_groups} groups), {c.get('rejected', 0)} rejected, "
            f"{c.get('skipped', 0)} skipped, {c.get('ignored', 0)} hidden/system files ignored",
        ]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  contact sheet: {self.html_path}")
        lines.append(f"  highlights: {self.out_dir / 'highlights'}")
        return "\n".join(lines)


def default_out_dir(album: Path) -> Path:
    """``<album parent>/<album name>-picme``: beside the album, never inside it."""
    album = Path(album).resolve()
    if not album.name:
        raise InputError(f"cannot put the output beside {album}; give --out DIR")
    return album.parent / f"{album.name}-picme"


def _check_paths(album: Path, out: Path | None) -> tuple[Path, Path]:
    album = Path(album).expanduser()
    if not album.exists():
        raise InputError(f"album folder {album} does not exist; give the folder of your photos")
    if not album.is_dir():
        raise InputError(f"album {album} is a file, not a folder; give the folder that holds it")
    album = album.resolve()
    out = default_out_dir(album) if out is None else Path(out).expanduser().resolve()
    if out == album or out.is_relative_to(album):
        raise InputError(
            f"output folder {out} is inside the album {album}, which curation never modifies; "
            f"choose a folder outside it (default: {default_out_dir(album)})"
        )
    if album.is_relative_to(out):
        raise InputError(
            f"output folder {out} contains the album {album}; choose a folder beside it "
            f"(default: {default_out_dir(album)})"
        )
    if out.exists():
        if not out.is_dir():
            raise InputError(f"output {out} is a file; give a folder (it is created if needed)")
        if any(out.iterdir()) and not (out / JSON_NAME).is_file():
            raise InputError(
                f"output folder {out} already holds other files; give a new or empty folder "
                f"(PicMe only replaces its own earlier output, which has a {JSON_NAME})"
            )
    return album, out


def _load_scorer(model: str | None, settings: Settings) -> Scorer:
    from picme.scoring.api import load_scorer

    try:
        return load_scorer(model, settings)
    except PicmeError:
        raise
    except Exception as exc:  # a registry or model problem must read as one line
        raise InputError(
            f"cannot load scorer {model or 'champion'!r}: {type(exc).__name__}: {exc}; "
            f"use --model heuristic to curate without a trained model"
        ) from exc


def _score_batch(scorer: Scorer, batch: list[Analysed], col: Collected) -> None:
    from picme.features.extractors import FEATURE_COLUMNS

    images = [r.pixels for r in batch]
    feats = [
        {c: float(v) for c, v in zip(FEATURE_COLUMNS, col.features[r.index], strict=True)}
        for r in batch
    ]
    try:
        out = np.asarray(scorer.score_images(images, features=feats), np.float64).ravel()  # type: ignore[arg-type]
    except PicmeError:
        raise
    except Exception as exc:
        raise PicmeError(
            f"the {scorer.name} scorer failed on a batch of album photos ({type(exc).__name__}: "
            f"{exc}); try --model heuristic"
        ) from exc
    if len(out) != len(batch):
        raise PicmeError(f"the {scorer.name} scorer returned {len(out)} scores for {len(batch)}")
    for r, s in zip(batch, out.tolist(), strict=True):
        col.scores[r.index] = s
        r.pixels = None


def _progress(show: bool | None) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    enabled = console.is_terminal if show is None else show
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def curate_album(
    album: Path,
    top: int = 20,
    model: str | None = None,
    out: Path | None = None,
    workers: int = 0,
    settings: Settings | None = None,
    *,
    progress: bool | None = None,
) -> CurationResult:
    """Curate ``album`` into ``out`` (default ``<album>-picme`` beside it).

    ``model``: "heuristic", an MLflow model URI, or None for the registry's champion when
    one exists (else the heuristic). ``workers``: processes, 0 for the settings' default
    (one per core), 1 to run in this process. ``progress``: show a progress bar (default:
    when stderr is a terminal).
    """
    from picme.curate.analyze import AnalyzeConfig, analyze_stream
    from picme.curate.grouping import group_labels
    from picme.curate.report import write_outputs
    from picme.curate.scan import scan_album
    from picme.curate.select import select
    from picme.features.extractors import ANALYSIS_SIDE
    from picme.scoring.api import HeuristicScorer
    from picme.settings import get_settings

    started = time.perf_counter()
    if top < 1:
        raise InputError(f"--top must be at least 1 (got {top})")
    album, out = _check_paths(Path(album), out)
    scan = scan_album(album, exclude=out)
    if not scan.files:
        hidden = f" (only {len(scan.ignored)} hidden or system files)" if scan.ignored else ""
        raise InputError(
            f"album {album} is empty{hidden}: nothing to curate; put photos (JPEG, PNG, "
            f"WEBP, HEIC, TIFF, BMP) in it, in any sub-folder"
        )
    photos = scan.photos
    if not photos:
        example = scan.files[0]
        raise InputError(
            f"album {album} has no photos: {len(scan.files)} files, none of them a JPEG, PNG, "
            f"WEBP, HEIC, TIFF or BMP (e.g. {example.rel}: {example.skip_reason})"
        )

    settings = settings or get_settings()
    n_workers = workers if workers > 0 else settings.n_workers()
    # A process without a chunk of work would only cost start-up time.
    n_workers = max(1, min(n_workers, len(photos) // CHUNK))
    scorer = _load_scorer(model, settings)
    in_worker = isinstance(scorer, HeuristicScorer)
    max_side = int(getattr(scorer, "max_side", ANALYSIS_SIDE) or ANALYSIS_SIDE)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        (tmp / "thumbs").mkdir(parents=True)
        cfg = AnalyzeConfig(
            decode_side=max(ANALYSIS_SIDE, max_side),
            score_side=max_side,
            thumbs_dir=str(tmp / "thumbs"),
            score_in_worker=scorer if in_worker else None,
        )
        items = [(k, f.rel, f.path) for k, f in enumerate(photos)]
        col = Collected(len(photos))
        batch: list[Analysed] = []
        with _progress(progress) as bar:
            task = bar.add_task(f"curating {album.name}", total=len(items))
            for chunk in analyze_stream(items, cfg, n_workers, chunk_size=CHUNK):
                for r in chunk:
                    col.add(r)
                    if r.ok and r.pixels is not None:
                        batch.append(r)
                if len(batch) >= SCORE_BATCH:
                    _score_batch(scorer, batch, col)
                    batch = []
                bar.advance(task, len(chunk))
            if batch:
                _score_batch(scorer, batch, col)

        ok_idx = np.flatnonzero(col.ok)
        notes: list[str] = []
        bad = ok_idx[~np.isfinite(col.scores[ok_idx])]
        if len(bad):
            finite = col.scores[ok_idx][np.isfinite(col.scores[ok_idx])]
            col.scores[bad] = (finite.min() if len(finite) else 0.0) - 1.0
            notes.append(f"the scorer gave no score for {len(bad)} photos; ranked them last")
        names = [photos[k].rel for k in ok_idx.tolist()]
        groups = group_labels(col.phash[ok_idx], col.embed[ok_idx], col.times[ok_idx])
        sel = select(
            names,
            col.scores[ok_idx],
            col.features[ok_idx],
            groups,
            col.embed[ok_idx],
            col.hs[ok_idx],
            col.times[ok_idx],
            top,
        )
        n_distinct = int(sel.kept.sum())
        if len(ok_idx) == 0:
            notes.append("no photo could be decoded: see the skipped files in the contact sheet")
        elif top > n_distinct:
            notes.append(
                f"asked for {top} highlights; the album has {n_distinct} distinct shots, all picked"
            )
        result = write_outputs(
            tmp=tmp,
            album=album,
            scan=scan,
            col=col,
            ok_idx=ok_idx,
            groups=groups,
            sel=sel,
            scorer=scorer,
            model=model,
            top=top,
        )
        _publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    counts = result["counts"]
    return CurationResult(
        album=album,
        out_dir=out,
        scorer_name=scorer.name,
        scorer_version=scorer.version,
        top=top,
        counts=counts,
        picks=result["picks"],
        n_groups=result["n_groups"],
        seconds=time.perf_counter() - started,
        notes=notes,
    )


def _publish(tmp: Path, out: Path) -> None:
    """Rename the finished output into place; an earlier output is removed only after."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


__all__ = ["CurationResult", "curate_album", "default_out_dir"]
