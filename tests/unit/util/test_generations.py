"""Complete generations: readers never see a mix or nothing; dead writers' leftovers are
swept; picme replaces only what it wrote and keeps what the user added."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from picme.errors import InputError
from picme.util.atomic import atomic_path
from picme.util.generations import (
    MANIFEST,
    check_owned,
    consistent_read,
    new_generation,
    read_manifest,
    sweep,
)

ROOT = Path(__file__).resolve().parents[3]


def _write(folder: Path, tag: str) -> None:
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(tag)


def test_first_and_next_generation_replace_only_what_picme_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with new_generation(out, kind="test") as g:
        _write(g, "one")
    assert read_manifest(out)["files"] == ["a.txt", "b.txt", "sub/c.txt"]  # type: ignore[index]
    (out / "notes.md").write_text("mine")
    (out / "sub" / "edit.jpg").write_bytes(b"mine too")
    with new_generation(out, kind="test") as g:
        _write(g, "two")
        (g / "a.txt").unlink()
    assert not (out / "a.txt").exists()  # picme's own old file is gone with its generation
    assert (out / "b.txt").read_text() == "two"
    assert (out / "notes.md").read_text() == "mine"
    assert (out / "sub" / "edit.jpg").read_bytes() == b"mine too"
    assert read_manifest(out)["user_files"] == ["notes.md", "sub/edit.jpg"]  # type: ignore[index]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # nothing hidden left behind


def test_a_failed_run_leaves_the_previous_generation_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with new_generation(out, kind="test") as g:
        _write(g, "one")
    with pytest.raises(RuntimeError), new_generation(out, kind="test") as g:
        _write(g, "two")
        raise RuntimeError("disk full")
    assert {p.read_text() for p in out.rglob("*.txt")} == {"one"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_folder_picme_did_not_write_is_refused(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.docx").write_text("x")
    with pytest.raises(InputError, match="already holds other files, which PicMe did not write"):
        check_owned(docs)
    check_owned(tmp_path / "new")  # absent: fine
    check_owned(docs, legacy=lambda d: (d / "thesis.docx").is_file())  # an older output


def test_readers_see_one_whole_generation_while_publishes_race(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with new_generation(out, kind="test") as g:
        _write(g, "0")
    stop = threading.Event()
    seen: list[set[str]] = []

    def reader() -> None:
        while not stop.is_set():
            got = consistent_read(
                out, lambda d: {(d / n).read_text() for n in ("a.txt", "b.txt", "sub/c.txt")}
            )
            seen.append(got)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(1, 40):
        with new_generation(out, kind="test") as g:
            _write(g, str(i))
    stop.set()
    t.join()
    assert seen and all(len(s) == 1 for s in seen), [s for s in seen if len(s) != 1][:3]


def test_leftovers_of_a_killed_writer_are_swept_and_a_live_ones_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from picme.util.atomic import atomic_path
        from picme.util.generations import new_generation
        with new_generation(Path({str(out)!r}), kind="test") as g:
            (g / "a.txt").write_text("half")
            with atomic_path(Path({str(tmp_path)!r}) / "table.parquet") as tmp:
                tmp.write_text("half")
                print("ready", flush=True)
                time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    with atomic_path(tmp_path / "mine.parquet") as live:
        live.write_text("in flight")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        hidden = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
        assert len(hidden) == 3  # the dead writer's staging folder and temp file, and ours
        removed = sweep(tmp_path)
        assert len(removed) == 2
        assert live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.parquet"]
    assert not out.exists()


def test_manifest_is_hidden_from_the_file_list(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with new_generation(out, kind="curation") as g:
        (g / "x").write_text("1")
    m = read_manifest(out)
    assert m is not None and m["kind"] == "curation" and MANIFEST not in m["files"]
