"""What a killed training leaves in MLflow, put right by the next ``picme train``.

A run records the pid and host of the process that trains it. A run still RUNNING whose
process is gone (on this host) is marked FAILED with the reason. A registered version whose
registration did not finish (``picme.state`` is ``incomplete``, or it has neither a state
nor a decision) gets the reason too; it keeps ``incomplete`` and so can never become
champion (see :mod:`picme.registry.champion`).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from picme.registry.champion import COMPLETE, INCOMPLETE, TAG_STATE
from picme.registry.tracking import TAG_REASON, client, store_missing
from picme.util.generations import pid_alive

if TYPE_CHECKING:
    from picme.settings import Settings

TAG_PID = "picme.pid"
TAG_HOST = "picme.host"
TAG_FAILURE = "picme.failure"


def _dead_runs(settings: Settings) -> list[str]:
    c = client(settings)
    exp = c.get_experiment_by_name(settings.experiment)
    if exp is None:
        return []
    host = socket.gethostname()
    dead = []
    for run in c.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'"):
        tags = run.data.tags
        pid = tags.get(TAG_PID, "")
        if tags.get(TAG_HOST) != host or not pid.isdigit() or pid_alive(int(pid)):
            continue
        c.set_tag(
            run.info.run_id,
            TAG_FAILURE,
            f"process {pid} ended before the run finished (killed?); marked failed by the "
            "next `picme train`",
        )
        c.set_terminated(run.info.run_id, status="FAILED")
        dead.append(run.info.run_id)
    return dead


def recover(settings: Settings) -> list[str]:
    """Mark dead runs failed and unfinished versions incomplete; one note for each."""
    if store_missing(settings.tracking_uri):
        return []
    notes = []
    dead = _dead_runs(settings)
    if dead:
        notes.append(f"marked {len(dead)} run(s) of killed trainings as failed")
    c = client(settings)
    name = settings.model_name
    for v in c.search_model_versions(f"name='{name}'"):
        tags = v.tags or {}
        state = tags.get(TAG_STATE)
        unfinished = state == INCOMPLETE or (state is None and TAG_REASON not in tags)
        if state == COMPLETE or not unfinished or TAG_FAILURE in tags:
            continue
        run_id = v.run_id or ""
        alive_run = (
            bool(run_id) and run_id not in dead and c.get_run(run_id).info.status == "RUNNING"
        )
        if alive_run:
            continue  # a training in progress right now
        c.set_model_version_tag(name, v.version, TAG_STATE, INCOMPLETE)
        c.set_model_version_tag(
            name, v.version, TAG_FAILURE, "registration did not finish; never champion"
        )
        notes.append(f"version {v.version} was left half-registered: marked incomplete")
    return notes
