"""``picme curate``: score an album, group near-duplicates, pick diverse highlights, explain.

The album is only read. Photos stream through a process pool in small chunks: each worker
decodes a photo once at reduced size and returns a few hundred bytes (features, hash,
embedding, capture time, a score or the scorer-sized pixels) after writing its thumbnail,
so memory stays flat in the album's size. Grouping, the quality gate and the diversity-aware
top K then work on those small arrays (:mod:`picme.curate.grouping`,
:mod:`picme.curate.select`). The output is one generation (:mod:`picme.util.generations`):
written whole into a hidden folder beside it, then swapped into place in one step, so a
reader sees the complete old output or the complete new one; files a user added to an
earlier output are carried over, and a folder PicMe did not write is refused.

Output (format documented in docs/curation.md): ``curation.json`` (one entry per file),
``highlights/`` (copies of the picks in rank order), ``thumbs/`` and ``saliency/`` (small
JPEGs), ``index.html`` (the contact sheet: :mod:`picme.curate.sheet`) and, with ``--xmp``,
``xmp/`` sidecars (:mod:`picme.curate.handoff`). Same album, same model: same output.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from picme.curate.analyze import Analysed, AnalyzeConfig, Collected, analyze_stream
from picme.curate.config import CurateConfig
from picme.curate.grouping import group_labels
from picme.curate.handoff import check_picks_dir, hand_off, write_sidecars
from picme.curate.report import FORMAT, HTML_NAME, JSON_NAME, Curated, write_outputs
from picme.curate.scan import AlbumFile, AlbumScan, scan_album
from picme.curate.select import select
from picme.errors import InputError, PicmeError
from picme.features.extractors import ANALYSIS_SIDE, FEATURE_COLUMNS
from picme.registry.status import no_champion_reason
from picme.scoring import api as scoring_api
from picme.scoring.base import Scorer
from picme.scoring.heuristic import HeuristicScorer
from picme.scoring.personal import PersonalScorer
from picme.settings import Settings, get_settings
from picme.util import progress as progress_api
from picme.util.generations import check_owned, new_generation

log = logging.getLogger(__name__)

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
    handoff: list[str] = field(default_factory=list)  # sidecars and copied picks, in words

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
            f"  {c.get('picked', 0)} picked, {c.get('alternative', 0)} alternatives, "
            f"{c.get('duplicate', 0)} duplicates "
            f"(in {self.n_groups} groups), {c.get('rejected', 0)} rejected, "
            f"{c.get('skipped', 0)} skipped, {c.get('ignored', 0)} hidden, system or sidecar files "
            "ignored",
        ]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  contact sheet: {self.html_path}")
        lines.append(f"  highlights: {self.out_dir / 'highlights'}")
        lines += [f"  {h}" for h in self.handoff]
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
    check_owned(out, legacy=_legacy_output)
    return album, out


# What a curation output held before outputs had a manifest (picme 0.1).
_LEGACY_ENTRIES = {JSON_NAME, HTML_NAME, "highlights", "thumbs", "saliency"}


def _legacy_output(folder: Path) -> bool:
    """An output written before manifests: PicMe's curation.json, and nothing but PicMe's
    own entries beside it (so a user's folder that merely holds a curation.json is not
    taken for ours)."""
    try:
        data = json.loads((folder / JSON_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return False
    return {p.name for p in folder.iterdir()} <= _LEGACY_ENTRIES


def _load_scorer(model: str | None, settings: Settings) -> Scorer:
    try:
        # Through the module, looked up at each call: tests stand a fake registry in.
        with progress_api.task(f"loading the scorer ({model or 'champion'})"):
            return scoring_api.load_scorer(model, settings)
    except PicmeError:
        raise
    except Exception as exc:  # a registry or model problem must read as one line
        raise InputError(
            f"cannot load scorer {model or 'champion'!r}: {type(exc).__name__}: {exc}; "
            f"use --model heuristic to curate without a trained model"
        ) from exc


def _score_batch(scorer: Scorer, batch: list[Analysed], col: Collected) -> None:
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


def curate(
    album: Path,
    config: CurateConfig,
    settings: Settings | None = None,
    *,
    progress: bool | None = None,
) -> CurationResult:
    """Curate ``album`` as ``config`` says, into ``config.out`` (default ``<album>-picme``
    beside it).

    ``config.model``: "heuristic", an MLflow model URI, or None for the registry's champion
    when one exists (else the heuristic). ``config.workers``: processes, 0 for the
    settings' default (one per core), 1 to run in this process. ``progress=False`` hides
    the progress even when the caller installed a reporter (:mod:`picme.util.progress`).
    """
    started = time.perf_counter()
    if config.top < 1:
        raise InputError(f"--top must be at least 1 (got {config.top})")
    album, out = _check_paths(Path(album), config.out)
    picks_dir = check_picks_dir(album, out, config.copy_picks)
    if config.link_picks and picks_dir is None:
        raise InputError("--link-picks needs --copy-picks DIR: the folder to link the picks into")
    xmp = config.xmp or config.xmp_beside
    scan = _scan(album, out)
    settings = settings or get_settings()
    n_workers = config.workers if config.workers > 0 else settings.n_workers()
    # A process without a chunk of work would only cost start-up time.
    n_workers = max(1, min(n_workers, len(scan.photos) // CHUNK))
    scorer = _load_scorer(config.model, settings)
    with new_generation(out, kind="curation") as tmp:
        (tmp / "thumbs").mkdir()
        col = _analyse(scan.photos, scorer, tmp, n_workers, progress, f"curating {album.name}")
        curated, notes = _choose(album, scan, col, scorer, config)
        written = write_outputs(tmp, curated)
        read = [e for e in written.files if e["status"] != "skipped"]
        if xmp:
            write_sidecars(tmp / "xmp", read, scorer.name)
    handoff = hand_off(album, out, picks_dir, config, read, written.picks, scorer.name)
    if config.model is None and isinstance(scorer, HeuristicScorer):
        notes.insert(0, no_champion_reason(settings))
    if isinstance(scorer, PersonalScorer):
        notes.insert(0, scorer.describe())
    return CurationResult(
        album=album,
        out_dir=out,
        scorer_name=scorer.name,
        scorer_version=scorer.version,
        top=config.top,
        counts=written.counts,
        picks=written.picks,
        n_groups=written.n_groups,
        seconds=time.perf_counter() - started,
        notes=notes,
        handoff=handoff,
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
    """:func:`curate` with the options as keywords (see :class:`CurateConfig`)."""
    config = CurateConfig(top=top, model=model, out=out, workers=workers)
    return curate(album, config, settings, progress=progress)


def _scan(album: Path, out: Path) -> AlbumScan:
    """The album's files; an album without photos is refused before anything is written."""
    scan = scan_album(album, exclude=out)
    if not scan.files:
        hidden = f" (only {len(scan.ignored)} hidden or system files)" if scan.ignored else ""
        raise InputError(
            f"album {album} is empty{hidden}: nothing to curate; put photos (JPEG, PNG, "
            f"WEBP, HEIC, TIFF, BMP) in it, in any sub-folder"
        )
    if not scan.photos:
        example = scan.files[0]
        raise InputError(
            f"album {album} has no photos: {len(scan.files)} files, none of them a JPEG, PNG, "
            f"WEBP, HEIC, TIFF or BMP (e.g. {example.rel}: {example.skip_reason})"
        )
    return scan


def _analyse(
    photos: list[AlbumFile],
    scorer: Scorer,
    tmp: Path,
    workers: int,
    progress: bool | None,
    label: str,
) -> Collected:
    """Every photo through the pool, scored in the workers (heuristic) or here in batches."""
    max_side = int(getattr(scorer, "max_side", ANALYSIS_SIDE) or ANALYSIS_SIDE)
    cfg = AnalyzeConfig(
        decode_side=max(ANALYSIS_SIDE, max_side),
        score_side=max_side,
        thumbs_dir=str(tmp / "thumbs"),
        score_in_worker=scorer if isinstance(scorer, HeuristicScorer) else None,
    )
    items = [(k, f.rel, f.path) for k, f in enumerate(photos)]
    col = Collected(len(photos))
    batch: list[Analysed] = []
    quiet = progress_api.silenced() if progress is False else nullcontext()
    with quiet, progress_api.task(label, total=len(items)) as bar:
        for chunk in analyze_stream(items, cfg, workers, chunk_size=CHUNK):
            for r in chunk:
                col.add(r)
                if r.ok and r.pixels is not None:
                    batch.append(r)
            if len(batch) >= SCORE_BATCH:
                _score_batch(scorer, batch, col)
                batch = []
            bar.advance(len(chunk))
        if batch:
            _score_batch(scorer, batch, col)
    return col


def _choose(
    album: Path, scan: AlbumScan, col: Collected, scorer: Scorer, config: CurateConfig
) -> tuple[Curated, list[str]]:
    """Group the decoded photos and select among them; notes for the summary."""
    ok_idx = np.flatnonzero(col.ok)
    notes: list[str] = []
    bad = ok_idx[~np.isfinite(col.scores[ok_idx])]
    if len(bad):
        finite = col.scores[ok_idx][np.isfinite(col.scores[ok_idx])]
        col.scores[bad] = (finite.min() if len(finite) else 0.0) - 1.0
        notes.append(f"the scorer gave no score for {len(bad)} photos; ranked them last")
    names = [scan.photos[k].rel for k in ok_idx.tolist()]
    groups = group_labels(col.phash[ok_idx], col.embed[ok_idx], col.times[ok_idx])
    sel = select(
        names,
        col.scores[ok_idx],
        col.features[ok_idx],
        groups,
        col.embed[ok_idx],
        col.hs[ok_idx],
        col.times[ok_idx],
        config.top,
    )
    n_distinct = int(sel.kept.sum())
    if len(ok_idx) == 0:
        notes.append("no photo could be decoded: see the skipped files in the contact sheet")
    elif config.top > n_distinct:
        notes.append(
            f"asked for {config.top} highlights; the album has {n_distinct} distinct shots, "
            "all picked"
        )
    curated = Curated(album, scan, col, ok_idx, groups, sel, scorer, config.model, config.top)
    return curated, notes


__all__ = ["CurationResult", "curate", "curate_album", "default_out_dir"]
