"""Markdown that tells a training's story, for MLflow descriptions and Prefect artifacts.

- :func:`evaluation_table`: the model against the heuristic, the followers-only baseline,
  chance and the current champion, with the champion gate's paired-bootstrap intervals;
- :func:`sizes_table`: rows, pairs and accounts of each split;
- :func:`run_description`: both, with the gate's verdict (MLflow's run and version
  descriptions);
- :func:`retrain_markdown`, :func:`evaluation_markdown`, :func:`curation_markdown`: the
  Prefect artifacts, with links to the MLflow UI (:func:`mlflow_links`).

Pure functions of plain data: the run's metrics (``test/<metric>`` for the model,
``test/<baseline>/<metric>`` for the baselines, as :mod:`picme.training.evaluate` logs
them), its params (``rows_<split>``, ``pairs_<split>``, ``accounts_<split>``) and the
gate's tags (``picme.gate.<reference>.<field>``, :meth:`picme.registry.gate.GateDecision.tags`).
Every value that comes from data or a user (names, reasons, paths) is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from picme.util.logsafe import MASK

GATE_PREFIX = "picme.gate"
#: Columns of the evaluation table besides pairwise accuracy: (metric, heading).
COLUMNS = (("ndcg_at_5", "NDCG@5"), ("roc_auc", "ROC AUC"), ("spearman", "Spearman"))
#: Baselines as the gate and the metrics name them, and how the table names them.
BASELINES = (("heuristic", "heuristic"), ("followers", "followers only"), ("random", "chance"))
NOTE_TAG = "mlflow.note.content"


def md(text: object) -> str:
    """Text from data or an error message, safe in a Markdown table cell."""
    return html.escape(str(text)).replace("|", "\\|").replace("\n", " ")


def _num(value: Any, fmt: str = ".3f") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return format(v, fmt) if math.isfinite(v) else "n/a"


@dataclass(frozen=True)
class GateRow:
    """One reference of the champion gate, read back from its tags."""

    reference: str
    score: float = math.nan
    diff: float = math.nan
    low: float = math.nan
    high: float = math.nan
    n_pairs: int | None = None
    n_accounts: int | None = None
    failed: str | None = None

    @property
    def beaten(self) -> bool:
        return self.failed is None and math.isfinite(self.low) and self.low > 0

    def interval(self) -> str:
        if self.failed is not None:
            return f"not compared: {md(self.failed)}"
        if not math.isfinite(self.diff):
            return "n/a"
        return f"{self.diff:+.3f} ({self.low:+.3f} to {self.high:+.3f})"

    def verdict(self) -> str:
        if self.failed is not None:
            return "blocks promotion"
        return "beaten" if self.beaten else "not beaten"


def gate_rows(tags: Mapping[str, str]) -> dict[str, GateRow]:
    """The gate's evidence per reference (``champion v3`` comes back as ``champion_v3``)."""
    fields: dict[str, dict[str, str]] = {}
    for key, value in tags.items():
        if not key.startswith(GATE_PREFIX + ".") or key.count(".") < 3:
            continue
        ref, field = key[len(GATE_PREFIX) + 1 :].rsplit(".", 1)
        fields.setdefault(ref, {})[field] = value
    out = {}
    for ref, f in fields.items():
        low, _, high = f.get("interval", "nan,nan").partition(",")
        out[ref] = GateRow(
            reference=ref.replace("_", " "),
            score=_float(f.get("reference_score")),
            diff=_float(f.get("diff")),
            low=_float(low),
            high=_float(high),
            n_pairs=_int(f.get("n_pairs")),
            n_accounts=_int(f.get("n_accounts")),
            failed=f.get("failed"),
        )
    return out


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


def evaluation_table(
    metrics: Mapping[str, float], tags: Mapping[str, str] | None = None, prefix: str = "test"
) -> str:
    """The model against the baselines and the champion on the test split, as a Markdown
    table: pairwise accuracy (the headline), NDCG@5, ROC AUC, Spearman, and the gate's
    difference (model minus reference) with its 95% interval."""
    gates = gate_rows(tags or {})
    judged = bool(gates)
    had_champion = any(r.startswith("champion") for r in gates)
    heads = ["scorer", "pairwise accuracy", *(h for _, h in COLUMNS)]
    heads += ["model minus it (95% interval)", "gate"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]

    def row(name: str, key: str | None, gate: GateRow | None, headline: float | None) -> str:
        cells = [name, _num(headline)]
        cells += [_num(metrics.get(f"{key}/{m}")) if key else "n/a" for m, _ in COLUMNS]
        cells += [gate.interval(), gate.verdict()] if gate else ["", ""]
        return "| " + " | ".join(cells) + " |"

    lines.append(row("**model**", prefix, None, metrics.get(f"{prefix}/pairwise_acc", math.nan)))
    for name, label in BASELINES:
        key = f"{prefix}/{name}"
        gate = gates.pop(name, None)
        if gate is None and f"{key}/pairwise_acc" not in metrics:
            continue
        # The gate judges against exact chance (half of every pair); the other columns
        # of that row are those of random scores.
        use_gate = gate is not None and (name == "random" or f"{key}/pairwise_acc" not in metrics)
        acc = gate.score if gate is not None and use_gate else metrics.get(f"{key}/pairwise_acc")
        lines.append(row(label, key, gate, acc))
    for _ref, gate in sorted(gates.items()):
        lines.append(row(md(gate.reference), None, gate, gate.score))
    if judged and not had_champion:
        lines.append("| current champion | no champion yet | | | | | |")
    return "\n".join(lines)


def sizes_table(params: Mapping[str, Any], metrics: Mapping[str, float]) -> str:
    """Rows, same-account pairs and accounts of each split."""
    lines = ["| split | rows | pairs | accounts |", "|---|---|---|---|"]
    for split, label in (("train", "train"), ("val", "validation"), ("test", "test")):
        rows = params.get(f"rows_{split}")
        pairs = params.get(f"pairs_{split}")
        accounts = params.get(f"accounts_{split}")
        if split == "test":
            rows = rows or metrics.get("test/rows")
            pairs = pairs or metrics.get("test/n_pairs")
            accounts = accounts or metrics.get("test/accounts")
        if rows is None:
            continue
        lines.append(f"| {label} | {_count(rows)} | {_count(pairs)} | {_count(accounts)} |")
    return "\n".join(lines)


def _count(value: object) -> str:
    v = _float(value)
    return f"{v:.0f}" if math.isfinite(v) else "n/a"


def run_description(
    metrics: Mapping[str, float],
    params: Mapping[str, Any],
    *,
    title: str,
    gate_tags: Mapping[str, str] | None = None,
    reason: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The evaluation as MLflow shows it on a run, a registered model or a version."""
    lines = [f"### {md(title)}", ""]
    if reason:
        lines += [md(reason), ""]
    lines += ["Test split, within-account pairs:", "", evaluation_table(metrics, gate_tags), ""]
    lines += ["Splits (by account: no account is in two splits):", ""]
    lines += [sizes_table(params, metrics), ""]
    if not math.isfinite(_float(metrics.get("test/roc_auc"))):
        lines.append(
            "- calibration and confusion-matrix plots are not drawn: the test split's labels "
            "are all of one class (or it has none)"
        )
    lines += [f"- {md(n)}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


# --- links to the MLflow UI -------------------------------------------------------------


def shown_uri(uri: str, *, user: bool = True) -> str:
    """``uri`` as the artifacts show it: a password in it (``postgresql://u:pw@host/db``,
    a server behind basic auth) masked, or the whole ``user:password@`` left out when
    ``user`` is False (a link, which the browser asks credentials for)."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    userinfo, _, hostport = parts.netloc.rpartition("@")
    name, colon, _password = userinfo.partition(":")
    netloc = hostport if not user else f"{name}{colon and ':' + MASK}@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))


def mlflow_base(tracking_uri: str) -> str | None:
    """The UI's address when the tracking URI is a server, else None."""
    if tracking_uri.startswith(("http://", "https://")):
        return shown_uri(tracking_uri, user=False).rstrip("/")
    return None


def ui_hint(tracking_uri: str) -> str:
    """How to open the UI on a store that is not a server."""
    return (
        f"open the MLflow UI with `mlflow ui --backend-store-uri '{md(shown_uri(tracking_uri))}'`"
        ", then http://127.0.0.1:5000"
    )


def run_link(tracking_uri: str, experiment_id: str | None, run_id: str, label: str = "") -> str:
    text = md(label or run_id)
    base = mlflow_base(tracking_uri) or "http://127.0.0.1:5000"
    url = f"{base}/#/experiments/{quote(str(experiment_id or '0'))}/runs/{quote(run_id)}"
    return f"[{text}]({url})"


def version_link(tracking_uri: str, model_name: str, version: str) -> str:
    base = mlflow_base(tracking_uri) or "http://127.0.0.1:5000"
    url = f"{base}/#/models/{quote(model_name)}/versions/{quote(str(version))}"
    return f"[{md(model_name)} v{md(version)}]({url})"


def file_link(path: str | Path, label: str | None = None) -> str:
    p = Path(path)
    uri = p.resolve().as_uri() if p.is_absolute() or p.exists() else str(p)
    return f"[{md(label or p.name)}]({uri}) (`{md(p)}`)"


# --- Prefect artifacts ------------------------------------------------------------------


def _state(state: Mapping[str, Any] | None) -> list[str]:
    if not state:
        return ["n/a", "n/a", "n/a"]
    fp = str(state.get("fingerprint") or "")
    return [_count(state.get("rows")), _count(state.get("accounts")), f"`{md(fp[:12])}`"]


def retrain_markdown(decision: Mapping[str, Any], *, min_growth: float, on_change: bool) -> str:
    """The retrain decision (:meth:`picme.registry.retrain.RetrainDecision.as_dict`)."""
    verb = "Training" if decision.get("train") else "Training skipped"
    version = decision.get("champion_version")
    role = decision.get("champion_role") or "champion"
    lines = [f"# {verb}", "", md(decision.get("reason", "")), ""]
    lines += ["| training table | rows | accounts | fingerprint |", "|---|---|---|---|"]
    lines.append("| now | " + " | ".join(_state(decision.get("current"))) + " |")
    if decision.get("champion"):
        label = f"{md(role)} v{md(version)}'s" if version else f"the {md(role)}'s"
        lines.append(f"| {label} | " + " | ".join(_state(decision["champion"])) + " |")
    elif version:
        lines.append(f"| {md(role)} v{md(version)}'s | no record of its table | | |")
    else:
        lines.append("| champion's | no champion yet | | |")
    growth = _float(decision.get("growth"))
    lines.append("")
    if math.isfinite(growth):
        lines.append(f"- rows since then: {growth * 100:+.1f}%")
    lines.append(
        f"- rule: train when at least {min_growth * 100:.3g}% of the rows are new"
        + (", removed or changed" if on_change else "")
        + f" (min_growth {min_growth:.3g}, retrain_on_change {'on' if on_change else 'off'})"
    )
    return "\n".join(lines)


def evaluation_markdown(
    *,
    tracking_uri: str,
    model_name: str | None = None,
    run_id: str | None = None,
    run_name: str | None = None,
    experiment_id: str | None = None,
    version: str | None = None,
    champion_version: str | None = None,
    reason: str | None = None,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """A trained model's evaluation, with its run and version linked to the MLflow UI."""
    if run_id is None:
        return (
            f"# Evaluation\n\nNo trained model yet in `{md(shown_uri(tracking_uri))}`: "
            "no champion yet. "
            "Run the train flow first."
        )
    metrics, params = metrics or {}, params or {}
    name = model_name or "model"
    title = f"# Evaluation of {md(name)} v{md(version)}" if version else "# Evaluation"
    lines = [title, ""]
    run = run_link(tracking_uri, experiment_id, run_id, run_name or run_id)
    lines.append(f"- MLflow run: {run} (`{md(run_id)}`)")
    if version:
        lines.append(f"- Registered version: {version_link(tracking_uri, name, version)}")
    else:
        lines.append("- Registered version: not registered")
    if champion_version is None:
        champ = "no champion yet"
    else:
        champ = version_link(tracking_uri, name, champion_version)
    is_champion = version is not None and version == champion_version
    lines.append(f"- Champion: {'yes' if is_champion else 'no'} (current champion: {champ})")
    if reason:
        lines.append(f"- Gate: {md(reason)}")
    if not mlflow_base(tracking_uri):
        store = md(shown_uri(tracking_uri))
        lines.append(f"- MLflow store `{store}`: {ui_hint(tracking_uri)}")
    lines += ["", "## Model against the baselines (test split)", ""]
    lines += [evaluation_table(metrics, tags if version else None), ""]
    lines += ["## Splits", "", sizes_table(params, metrics)]
    return "\n".join(lines)


def curation_markdown(
    album: str, *, scorer: str, highlights: int, out_dir: str, sheet: str, summary: str
) -> str:
    """The curation: where it is, a link to the contact sheet, the summary."""
    lines = [
        f"# Curation of `{md(album)}`",
        "",
        "| | |",
        "|---|---|",
        f"| scorer | {md(scorer)} |",
        f"| highlights | {highlights} |",
        f"| output | `{md(out_dir)}` |",
        f"| contact sheet | {file_link(sheet)} |",
        "",
    ]
    lines += [f"    {md(line)}" for line in summary.splitlines()]
    return "\n".join(lines)


def pipeline_markdown(
    headline: str,
    reason: str,
    where: Mapping[str, str],
    *,
    tracking_uri: str,
    model_name: str,
    run: Mapping[str, str | None] | None = None,
    sheet: str | None = None,
) -> str:
    """What the pipeline did and where everything is, with its MLflow run (``run``: its
    ``run_id``, ``experiment_id``, ``version``) and the contact sheet linked."""
    lines = [
        "# PicMe pipeline",
        "",
        f"{md(headline)}: {md(reason)}",
        "",
        "| what | where |",
        "|---|---|",
    ]
    if run and run.get("run_id"):
        run_id = str(run["run_id"])
        lines.append(f"| MLflow run | {run_link(tracking_uri, run.get('experiment_id'), run_id)} |")
        if run.get("version"):
            link = version_link(tracking_uri, model_name, str(run["version"]))
            lines.append(f"| registered version | {link} |")
    if sheet:
        lines.append(f"| contact sheet | {file_link(sheet)} |")
    lines += [f"| {md(k)} | `{md(v)}` |" for k, v in where.items()]
    if not mlflow_base(tracking_uri):
        lines += ["", f"To follow the links, {ui_hint(tracking_uri)}."]
    return "\n".join(lines)
