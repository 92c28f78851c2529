"""Training on planted data, MLflow tracking, the champion gate and the registry scorer.

One embedded MLflow store for the module; the runs happen once, in order:
v1 a weak model (no free pass: it does not beat the baselines, so no champion), v2 the
fusion model (beats the heuristic, the followers baseline and chance: champion), v3 the
weak model again (refused; the champion is re-evaluated on the same test split)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from picme.settings import Settings, get_settings
from picme.training.config import TrainConfig
from picme.training.run import TrainResult, train_and_register
from tests.trainingdata import make_training_data, seed_tracking_store, torch_one_thread  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_one_thread")]

WEAK = TrainConfig(
    model="seed-cnn", loss="bce", epochs=1, lr=1e-9, image_size=32, batch_size=16, plots=False
)
STRONG = TrainConfig(model="fusion", loss="pairwise", epochs=6, image_size=32, batch_size=16)


@dataclass
class Runs:
    settings: Settings
    weak: TrainResult
    strong: TrainResult
    refused: TrainResult
    frame_test: object


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:

    home = tmp_path_factory.mktemp("registry") / "picme-data"
    data = make_training_data(home, n_accounts=8, posts=30, image_size=64, seed=3)
    settings = get_settings(home=home, workers=1)
    seed_tracking_store(home)
    from picme.training import plots

    drawn = plots.learning_curves

    def spy(history, path):  # type: ignore[no-untyped-def]
        PLOTTED.append([dict(h) for h in history])
        return drawn(history, path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plots, "learning_curves", spy)
        weak = train_and_register(WEAK, settings)
        strong = train_and_register(STRONG, settings)
        refused = train_and_register(WEAK, settings)
    return Runs(settings, weak, strong, refused, data.frame[data.frame["split"] == "test"])


PLOTTED: list[list[dict[str, float]]] = []  # the histories learning_curves.png was drawn from


def test_fusion_learns_the_planted_relation(runs: Runs) -> None:
    m = runs.strong.metrics
    # Observed: ~0.85 on this data (chance 0.5, random baseline ~0.5).
    assert m["test/pairwise_acc"] >= 0.7
    assert m["test/pairwise_acc"] > m["test/random/pairwise_acc"] + 0.15
    assert m["test/followers/pairwise_acc"] == 0.5
    for key in ("ndcg_at_5", "accuracy", "f1", "roc_auc", "spearman", "mae"):
        assert np.isfinite(m[f"test/{key}"]), key
    assert runs.strong.summary().count("\n") >= 5


def test_registry_promotes_the_better_and_refuses_the_worse(runs: Runs) -> None:
    from picme.registry import tracking as registry

    # No free pass: the first model registered is no champion when it loses to a baseline.
    assert not runs.weak.promoted and runs.weak.reason.startswith("challenger: does not beat")
    assert runs.strong.promoted, runs.strong.summary()
    assert runs.strong.reason.startswith("champion: beats heuristic, followers, random")
    assert runs.strong.metrics["test/pairwise_acc"] > runs.weak.metrics["test/pairwise_acc"]
    assert not runs.refused.promoted
    gate = runs.refused.gate
    assert gate is not None
    champ = next(c for c in gate.comparisons if c.reference.startswith("champion v"))
    assert champ.reference == f"champion v{runs.strong.version}" and not champ.wins
    # The re-evaluated champion scores what it scored in its own run: same split, same model.
    assert champ.reference_score == pytest.approx(runs.strong.metrics["test/pairwise_acc"])
    assert "95% interval" in runs.refused.summary()

    info = registry.champion_info(runs.settings)
    assert info is not None and info["version"] == runs.strong.version
    assert info["rows"] == 240 and info["accounts"] == 8 and info["fingerprint"]
    c = registry.client(runs.settings)
    name = runs.settings.model_name
    tags = c.get_model_version(name, runs.refused.version).tags
    assert tags[registry.TAG_ROLE] == "challenger"
    assert tags[registry.TAG_REASON] == runs.refused.reason
    assert c.get_model_version(name, runs.weak.version).tags[registry.TAG_ROLE] == "challenger"
    evidence = c.get_model_version(name, runs.strong.version).tags
    assert evidence["picme.gate.heuristic.n_accounts"] == "2"
    assert float(evidence["picme.gate.heuristic.interval"].split(",")[0]) > 0


def test_run_is_fully_tracked(runs: Runs) -> None:
    from picme.registry import tracking as registry

    c = registry.client(runs.settings)
    run = c.get_run(runs.strong.run_id)
    params = run.data.params
    for key in (
        "model",
        "loss",
        "lr",
        "epochs",
        "rows_train",
        "rows_test",
        "table_fingerprint",
        "split_fingerprint",
        "meta_columns",
    ):
        assert params.get(key), key
    history = c.get_metric_history(runs.strong.run_id, "val/pairwise_acc")
    assert len(history) >= 2
    assert len(c.get_metric_history(runs.strong.run_id, "train/loss")) >= 2
    arts = {a.path for a in c.list_artifacts(runs.strong.run_id, "plots")}
    for png in (
        "learning_curves",
        "calibration",
        "confusion_matrix",
        "score_distributions",
        "saliency_best",
        "saliency_worst",
    ):
        assert f"plots/{png}.png" in arts, png
    import mlflow

    info = mlflow.models.get_model_info(f"models:/picme-scorer/{runs.strong.version}")
    assert info.signature is not None and info.saved_input_example_info is not None
    inputs = {spec.name for spec in info.signature.inputs.inputs}
    # The photo request (picme.models.serving): the encoded image, metadata by name.
    assert info.signature.inputs.required_input_names() == ["image"]
    assert {"taken_at", "followers", "log_followers"} <= inputs
    # Embedded default: artifacts live under PICME_HOME.
    assert (runs.settings.artifacts_dir).exists()
    assert any(runs.settings.artifacts_dir.rglob("learning_curves.png"))


def test_registry_scorer_matches_the_model_in_memory(runs: Runs) -> None:
    from picme.features.decode import decode_image
    from picme.scoring.api import champion_uri, load_scorer
    from picme.scoring.model import ModelScorer

    assert champion_uri(runs.settings) == "models:/picme-scorer@champion"
    loaded = load_scorer(None, runs.settings)
    assert loaded.version == runs.strong.version and "fusion" in loaded.name
    memory = ModelScorer(runs.strong.net, runs.strong.prep, name="memory")
    frame = runs.frame_test
    paths = list(frame["image_path"])[:12]
    images = [decode_image(p, max_side=loaded.max_side) for p in paths]
    np.testing.assert_allclose(
        loaded.score_images(images), memory.score_images(images), rtol=1e-5, atol=1e-5
    )
    meta = frame.iloc[:12].to_dict("records")
    with_meta = loaded.score_images(images, metadata=meta)
    np.testing.assert_allclose(
        with_meta, memory.score_images(images, metadata=meta), rtol=1e-5, atol=1e-5
    )
    sal = loaded.saliency(images[0])
    assert sal is not None and sal.shape == images[0].shape[:2]
    by_uri = load_scorer(f"models:/picme-scorer/{runs.weak.version}", runs.settings)
    assert by_uri.version == runs.weak.version and "seed-cnn" in by_uri.name


def test_train_command_without_table_is_one_line(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    monkeypatch.setenv("PICME_HOME", str(tmp_path / "empty"))
    res = CliRunner().invoke(app, ["train", "--epochs", "1"])
    assert res.exit_code == 2
    assert "no training table yet" in res.output and "Traceback" not in res.output


def test_mlflow_tells_the_story(runs: Runs) -> None:
    """Model-training view, the dataset per split, descriptions with the evaluation table,
    headline metrics, and learning curves drawn from the numbers MLflow holds."""
    from picme.registry import tracking as registry
    from picme.registry.report import NOTE_TAG

    c = registry.client(runs.settings)
    exp = c.get_experiment_by_name(runs.settings.experiment)
    assert exp.tags[registry.TAG_EXPERIMENT_KIND] == "custom_model_development"
    c.delete_experiment_tag(exp.experiment_id, registry.TAG_EXPERIMENT_KIND)
    registry.ensure_experiment(runs.settings)  # an older experiment gets the tag too
    again = c.get_experiment(exp.experiment_id).tags
    assert again[registry.TAG_EXPERIMENT_KIND] == "custom_model_development"

    run = c.get_run(runs.strong.run_id)
    inputs = {d.tags[0].value: d.dataset for d in run.inputs.dataset_inputs if d.tags}
    assert set(inputs) == {"train", "validation", "test"}
    fingerprint = run.data.params["table_fingerprint"]
    for context, split in (("train", "train"), ("validation", "val"), ("test", "test")):
        ds = inputs[context]
        assert ds.digest == fingerprint[:32] and "training.parquet" in ds.source
        assert f'"num_rows": {run.data.params[f"rows_{split}"]}' in ds.profile

    assert run.data.tags["mlflow.source.name"] == "picme train"
    note = run.data.tags[NOTE_TAG]
    assert "| **model** |" in note and "| heuristic |" in note and "| chance |" in note
    assert "| current champion | no champion yet |" in note  # v1 was no champion
    assert "| test | 60 |" in note
    name = runs.settings.model_name
    assert c.get_model_version(name, runs.strong.version).description == note
    refused = c.get_model_version(name, runs.refused.version).description
    assert f"| champion v{runs.strong.version} |" in refused and "not beaten" in refused
    model = c.get_registered_model(name).description
    assert f"Champion: v{runs.strong.version}" in model and note in model
    assert run.data.metrics["headline/pairwise_acc"] == run.data.metrics["test/pairwise_acc"]

    # learning_curves.png of the strong run (the weak runs draw no plots): MLflow's values.
    (plotted,) = PLOTTED
    logged = c.get_metric_history(runs.strong.run_id, "train/loss")
    assert [h["train/loss"] for h in plotted] == [m.value for m in logged]
    assert [h["epoch"] for h in plotted] == list(range(1, len(logged) + 1))
