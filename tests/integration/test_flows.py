"""The flows under prefect_test_harness, on data made by the project's own generator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from picme.scrape.config import ScrapeConfig

pytestmark = pytest.mark.slow

# Small enough for two cores, large enough for the account split to have a test account.
TINY = {"accounts": 4, "posts": 12, "sample_image_size": 64}


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def artifacts(key: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )


def test_pipeline_registers_a_model_then_skips_when_nothing_changed(
    harness: None, picme_home: Path
) -> None:
    from flows.common import COUNTS_KEY, EVALUATION_KEY, RETRAIN_KEY
    from flows.pipeline import pipeline_flow
    from flows.retrain import retrain_flow
    from picme.dataset.fingerprint import table_fingerprint
    from picme.registry.tracking import champion_info, client, latest_info
    from picme.settings import get_settings
    from picme.training.config import TrainConfig

    options = TrainConfig(epochs=1, image_size=32, batch_size=16, seed=0)
    first = pipeline_flow(home=str(picme_home), train=options, top=4, **TINY)

    settings = get_settings()
    assert first.generate is not None and "generated" in first.generate
    assert first.ingest.posts_new == TINY["accounts"] * TINY["posts"]
    counts = {row["table"]: row["rows"] for row in first.features.counts}
    assert counts["posts"] == TINY["accounts"] * TINY["posts"]
    assert counts["training"] == first.features.training.rows > 0

    trained = first.train
    assert trained.trained and "no champion" in trained.reason
    run = trained.train
    assert run is not None
    # Registered and judged by the gate; on 4 tiny accounts it need not earn champion.
    assert run.version == "1"
    last = latest_info(settings)
    assert last is not None and last["version"] == "1" and last["run_id"] == run.run_id
    assert (champion_info(settings) is not None) == run.promoted
    table = table_fingerprint(settings)
    assert (last["rows"], last["fingerprint"]) == (table["rows"], table["fingerprint"])
    assert run.evaluation is not None
    assert run.evaluation.metrics, "evaluation read no metrics back from MLflow"
    assert first.curate.html_path.is_file()
    assert first.where["MLflow UI"].startswith("mlflow ui --backend-store-uri 'sqlite:///")

    evaluation = artifacts(EVALUATION_KEY)[0]
    verdict = "Champion: yes" if run.promoted else "Champion: no"
    assert run.run_id in evaluation.data and verdict in evaluation.data
    assert len(artifacts(COUNTS_KEY)) >= 2  # after ingest and after features

    # Same data again: every stage is a cache hit and training is skipped, with the reason.
    second = pipeline_flow(home=str(picme_home), train=options, demo_album=False, **TINY)
    assert second.generate is None
    assert second.ingest.cached
    assert second.features.image_features.cached
    assert second.features.training.cached
    assert not second.train.trained
    role = "champion" if run.promoted else "challenger"
    assert f"unchanged since {role} v1" in second.train.reason
    decision = artifacts(RETRAIN_KEY)[0]
    assert decision.data.startswith("# Training skipped") and "unchanged" in decision.data
    # The scheduled retrain flow reaches the same decision on its own.
    retrain = retrain_flow(home=str(picme_home), train=options)
    assert not retrain.trained and "unchanged" in retrain.reason
    versions = client(settings).search_model_versions(f"name='{settings.model_name}'")
    assert [str(v.version) for v in versions] == ["1"]


def _report(raw_dir: Path) -> Any:
    from picme.scrape.run import ScrapeReport

    return ScrapeReport(run_at=datetime.now(UTC), raw_dir=raw_dir, max_requests=10)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.scrape

    quick = flows.scrape.scrape_task.with_options(retry_delay_seconds=0, retry_jitter_factor=None)
    monkeypatch.setattr(flows.scrape, "scrape_task", quick)


def test_failed_scrape_retries_then_succeeds(
    harness: None, picme_home: Path, monkeypatch: pytest.MonkeyPatch, fast_retries: None
) -> None:
    from prefect.client.orchestration import get_client

    import picme.scrape.run
    from flows.scrape import INSTAGRAM_LIMIT, scrape_flow

    calls: list[dict[str, Any]] = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) < 3:
            raise picme.scrape.run.RateLimited("Instagram asks to wait 20 minutes", wait_s=1200)
        return _report(kwargs["settings"].raw_dir)

    monkeypatch.setattr(picme.scrape.run, "scrape_targets", flaky)
    result = scrape_flow(ScrapeConfig(profiles=["someone"], max_posts=5), home=str(picme_home))
    assert len(calls) == 3
    assert calls[-1]["profiles"] == ["someone"] and calls[-1]["max_posts"] == 5
    assert result.errors == []
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(INSTAGRAM_LIMIT).limit == 1


def test_bad_scrape_input_is_not_retried(
    harness: None, picme_home: Path, monkeypatch: pytest.MonkeyPatch, fast_retries: None
) -> None:
    import picme.scrape.run
    from flows.scrape import scrape_flow

    calls: list[int] = []

    def missing(**kwargs: Any) -> Any:
        calls.append(1)
        raise picme.scrape.run.TargetNotFound("profile 'nobody_here' does not exist")

    monkeypatch.setattr(picme.scrape.run, "scrape_targets", missing)
    with pytest.raises(picme.scrape.run.TargetNotFound):
        scrape_flow(ScrapeConfig(profiles=["nobody_here"]), home=str(picme_home))
    assert calls == [1]


def test_two_scrapes_never_talk_to_instagram_at_once(
    harness: None, picme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import picme.scrape.run
    from flows.scrape import scrape_flow

    lock = threading.Lock()
    inside: list[int] = []
    overlap: list[bool] = []

    def slow(**kwargs: Any) -> Any:
        with lock:
            inside.append(1)
            overlap.append(len(inside) > 1)
        time.sleep(1.0)
        with lock:
            inside.pop()
        return _report(kwargs["settings"].raw_dir)

    monkeypatch.setattr(picme.scrape.run, "scrape_targets", slow)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            scrape_flow(ScrapeConfig(profiles=[name]), home=str(picme_home))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert overlap == [False, False]
