"""The Markdown of MLflow descriptions and Prefect artifacts (picme.registry.report), built
from a real gate decision and a real retrain decision."""

from __future__ import annotations

import numpy as np

from picme.registry.gate import PairOutcomes, decide
from picme.registry.report import (
    curation_markdown,
    evaluation_markdown,
    evaluation_table,
    gate_rows,
    pipeline_markdown,
    retrain_markdown,
    run_description,
    sizes_table,
)
from picme.registry.retrain import decide_retrain

METRICS = {
    "test/pairwise_acc": 0.8,
    "test/ndcg_at_5": 0.7,
    "test/roc_auc": 0.9,
    "test/spearman": 0.6,
    "test/heuristic/pairwise_acc": 0.7,
    "test/heuristic/ndcg_at_5": 0.65,
    "test/followers/pairwise_acc": 0.5,
    "test/random/pairwise_acc": 0.47,
    "test/random/roc_auc": 0.52,
    "test/rows": 40.0,
    "test/n_pairs": 200.0,
    "test/accounts": 2.0,
}
PARAMS = {"rows_train": "100", "pairs_train": "900", "accounts_train": "5", "rows_val": "20"}


def _decision(champion_failed: bool = False):  # type: ignore[no-untyped-def]
    """A gate decision over 200 pairs of 2 accounts: the candidate right on 80% of them."""
    rng = np.random.default_rng(0)
    accounts = np.array(["a"] * 100 + ["b"] * 100, dtype=object)
    cand = PairOutcomes(accounts, (rng.random(200) < 0.8).astype(float))
    heur = PairOutcomes(accounts, (rng.random(200) < 0.7).astype(float))
    refs: dict[str, PairOutcomes | str] = {"heuristic": heur, "random": PairOutcomes.chance(cand)}
    refs["champion v3"] = "could not be re-evaluated: OSError: <gone>" if champion_failed else cand
    return decide(cand, refs, n_boot=200, seed=1)


def _cells(table: str, first: str) -> list[str]:
    (line,) = [ln for ln in table.splitlines() if ln.startswith(f"| {first} |")]
    return [c.strip() for c in line.strip("|").split("|")]


def test_evaluation_table_reads_the_gate_back_from_its_tags() -> None:
    decision = _decision()
    rows = gate_rows(decision.tags())
    assert set(rows) == {"heuristic", "random", "champion_v3"}
    heur = next(c for c in decision.comparisons if c.reference == "heuristic")
    assert rows["heuristic"].low == round(heur.low, 6) and rows["heuristic"].n_pairs == 200

    table = evaluation_table(METRICS, decision.tags())
    model = _cells(table, "**model**")
    assert model[:5] == ["**model**", "0.800", "0.700", "0.900", "0.600"]
    heuristic = _cells(table, "heuristic")
    assert heuristic[1] == "0.700" and heuristic[2] == "0.650"
    assert heuristic[5] == f"{heur.diff:+.3f} ({heur.low:+.3f} to {heur.high:+.3f})"
    assert heuristic[6] == ("beaten" if heur.wins else "not beaten")
    # The gate judges against exact chance; the other columns are random scores'.
    chance = _cells(table, "chance")
    assert chance[1] == "0.500" and chance[3] == "0.520"
    champion = _cells(table, "champion v3")
    assert champion[6] == "not beaten" and champion[5].startswith("+0.000")
    # followers has metrics but was not in this gate: shown without an interval.
    assert _cells(table, "followers only")[5:] == ["", ""]


def test_a_champion_that_failed_and_no_champion_are_said_in_words() -> None:
    failed = evaluation_table(METRICS, _decision(champion_failed=True).tags())
    cells = _cells(failed, "champion v3")
    assert cells[6] == "blocks promotion" and "could not be re-evaluated" in cells[5]
    assert "&lt;gone&gt;" in cells[5] and "<gone>" not in failed

    first = decide(
        PairOutcomes(np.array(["a", "b"], dtype=object), np.ones(2)),
        {"heuristic": PairOutcomes(np.array(["a", "b"], dtype=object), np.zeros(2))},
        n_boot=50,
    )
    assert "| current champion | no champion yet |" in evaluation_table(METRICS, first.tags())
    # Not registered, no gate: nothing said about a champion.
    assert "champion" not in evaluation_table(METRICS, None)


def test_sizes_and_the_run_description() -> None:
    sizes = sizes_table(PARAMS, METRICS)
    assert _cells(sizes, "train") == ["train", "100", "900", "5"]
    assert _cells(sizes, "validation") == ["validation", "20", "n/a", "n/a"]
    assert _cells(sizes, "test") == ["test", "40", "200", "2"]

    text = run_description(
        {**METRICS, "test/roc_auc": float("nan")},
        PARAMS,
        title="picme-scorer v4 (fusion)",
        gate_tags=_decision().tags(),
        reason="challenger: does not beat x|y",
        notes=["no validation split"],
    )
    assert text.startswith("### picme-scorer v4 (fusion)")
    assert "does not beat x\\|y" in text
    assert "calibration and confusion-matrix plots are not drawn" in text
    assert "- no validation split" in text


def test_retrain_artifact_is_a_table_and_says_no_champion_in_words() -> None:
    table = {"rows": 195, "accounts": 4, "fingerprint": "abcdef0123456789"}
    first = decide_retrain(table, None).as_dict()
    text = retrain_markdown(first, min_growth=0.1, on_change=True)
    assert text.startswith("# Training\n")
    assert _cells(text, "now") == ["now", "195", "4", "`abcdef012345`"]
    assert "| champion's | no champion yet |" in text
    assert "None" not in text and "&#x27;" not in text and "{" not in text

    champ = {**table, "version": "2", "role": "challenger", "run_id": "r"}
    same = decide_retrain(table, champ).as_dict()
    text = retrain_markdown(same, min_growth=0.25, on_change=False)
    assert text.startswith("# Training skipped\n")
    assert _cells(text, "challenger v2's")[1:3] == ["195", "4"]
    assert "rows since then: +0.0%" in text
    assert "at least 25% of the rows are new (min_growth 0.25, retrain_on_change off)" in text


def test_evaluation_artifact_links_the_run_and_the_version() -> None:
    common = {
        "model_name": "picme-scorer",
        "run_id": "abc123",
        "run_name": "fusion-pairwise",
        "experiment_id": "7",
        "version": "4",
        "champion_version": "4",
        "metrics": METRICS,
        "params": PARAMS,
        "tags": _decision().tags(),
    }
    served = evaluation_markdown(tracking_uri="http://127.0.0.1:5000/", **common)
    assert "[fusion-pairwise](http://127.0.0.1:5000/#/experiments/7/runs/abc123)" in served
    assert "[picme-scorer v4](http://127.0.0.1:5000/#/models/picme-scorer/versions/4)" in served
    assert "Champion: yes" in served and "mlflow ui" not in served
    assert "| **model** | 0.800 |" in served and "| test | 40 | 200 | 2 |" in served

    local = evaluation_markdown(
        tracking_uri="sqlite:////data/mlflow.db", **{**common, "champion_version": None}
    )
    assert "mlflow ui --backend-store-uri 'sqlite:////data/mlflow.db'" in local
    assert "Champion: no (current champion: no champion yet)" in local
    nothing = evaluation_markdown(tracking_uri="sqlite:////data/mlflow.db")
    assert "no champion yet" in nothing and "None" not in nothing


def test_curation_artifact_links_the_contact_sheet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sheet = tmp_path / "out" / "index.html"
    text = curation_markdown(
        "/photos/<trip>",
        scorer="picme-scorer v4",
        highlights=8,
        out_dir=str(sheet.parent),
        sheet=str(sheet),
        summary="8 highlights\nfrom 40 photos",
    )
    assert f"[index.html]({sheet.as_uri()})" in text
    assert "&lt;trip&gt;" in text and "<trip>" not in text
    assert "| highlights | 8 |" in text and "    from 40 photos" in text


def test_pipeline_summary_links_the_run_the_version_and_the_sheet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sheet = tmp_path / "index.html"
    text = pipeline_markdown(
        "trained and registered version 1",
        "no champion model yet",
        {"PICME_HOME": "/data"},
        tracking_uri="sqlite:////data/mlflow.db",
        model_name="picme-scorer",
        run={"run_id": "r1", "experiment_id": "3", "version": "1"},
        sheet=str(sheet),
    )
    assert "| MLflow run | [r1](http://127.0.0.1:5000/#/experiments/3/runs/r1) |" in text
    assert "[picme-scorer v1](http://127.0.0.1:5000/#/models/picme-scorer/versions/1)" in text
    assert f"({sheet.as_uri()})" in text and "| PICME_HOME | `/data` |" in text
    assert "mlflow ui --backend-store-uri 'sqlite:////data/mlflow.db'" in text
    skipped = pipeline_markdown(
        "training skipped", "unchanged", {}, tracking_uri="http://h:5000", model_name="m"
    )
    assert "MLflow run" not in skipped and "mlflow ui" not in skipped


def test_a_password_in_the_tracking_uri_stays_out_of_the_artifacts() -> None:
    db = "postgresql+psycopg2://mlflow:s3cret-pw@db.internal:5432/mlflow"
    nothing = evaluation_markdown(tracking_uri=db)
    summary = pipeline_markdown(
        "trained", "why", {}, tracking_uri=db, model_name="m", run={"run_id": "r1"}
    )
    for text in (nothing, summary):
        assert "s3cret-pw" not in text
    assert "postgresql+psycopg2://mlflow:***@db.internal:5432/mlflow" in summary
    served = pipeline_markdown(
        "trained", "why", {}, tracking_uri="https://bob:s3cret-pw@mlflow.example/",
        model_name="m", run={"run_id": "r1", "experiment_id": "3"},
    )  # fmt: skip
    assert "s3cret-pw" not in served and "bob" not in served
    assert "[r1](https://mlflow.example/#/experiments/3/runs/r1)" in served


def test_the_pipeline_locations_mask_a_password_in_the_tracking_uri(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from flows.pipeline import locations, where_text
    from picme.settings import Settings

    db = "postgresql+psycopg2://mlflow:s3cret-pw@db.internal:5432/mlflow"
    where = locations(Settings(home=tmp_path, mlflow_tracking_uri=db))
    assert (
        where["MLflow tracking URI"] == "postgresql+psycopg2://mlflow:***@db.internal:5432/mlflow"
    )
    assert "s3cret-pw" not in where_text(where)
