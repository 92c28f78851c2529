"""Curate flow: score an album folder, group near-duplicates, pick and explain highlights.

The album is read, never modified; images are processed in batches inside
picme.curate.run (one task for the whole album, not one per image).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.common import CURATION_KEY, load_settings, md_escape, resolve_settings, settings_payload


@task(name="curate-album")
def curate_task(
    settings: dict[str, Any],
    album: str,
    top: int,
    model: str | None,
    out: str | None,
    workers: int,
) -> dict[str, Any]:
    from picme.curate.run import curate_album

    result = curate_album(
        Path(album),
        top=top,
        model=model,
        out=Path(out) if out else None,
        workers=workers,
        settings=load_settings(settings),
        progress=False,
    )
    return {
        "summary": result.summary(),
        "out_dir": str(result.out_dir),
        "html": str(result.html_path),
        "picks": list(result.picks),
        "scorer": result.scorer_name,
        "scorer_version": result.scorer_version,
    }


@flow(name="curate", log_prints=True)
def curate_flow(
    album: str,
    top: int = 20,
    model: str | None = None,
    out: str | None = None,
    workers: int = 0,
    home: str | None = None,
) -> dict[str, Any]:
    """Pick the ``top`` highlights of ``album`` with ``model`` (default: champion)."""
    settings = resolve_settings(home)
    album_path = str(Path(album).expanduser().resolve())
    result = curate_task(settings_payload(settings), album_path, top, model, out, workers)
    version = f" v{result['scorer_version']}" if result["scorer_version"] else ""
    lines = [
        f"# Curation of `{md_escape(album_path)}`",
        "",
        f"- Scorer: {md_escape(result['scorer'])}{md_escape(version)}",
        f"- Highlights: {len(result['picks'])}",
        f"- Output: `{md_escape(result['out_dir'])}`",
        f"- Report: `{md_escape(result['html'])}`",
        "",
    ]
    lines += [f"    {md_escape(line)}" for line in result["summary"].splitlines()]
    create_markdown_artifact("\n".join(lines), key=CURATION_KEY, description="Curation summary")
    print(result["summary"])
    return result
