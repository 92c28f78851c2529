"""One typed settings object, read from PICME_* environment variables.

Importing this module has no side effects: nothing is created on disk until a caller
asks for it with :meth:`Settings.ensure_dirs`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PICME_", extra="ignore")

    home: Path = Field(default=Path("picme-data"), description="Root of every data layer.")
    lake_uri: str | None = Field(
        None,
        description=(
            "Keep the lake in an S3-compatible bucket, s3://bucket/prefix (PICME_LAKE_URI); "
            "unset: the lake is the folder lake/ under home. Endpoint and credentials come "
            "from the standard AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY "
            "and AWS_DEFAULT_REGION, never from PicMe's settings."
        ),
    )

    # Labels and the training table.
    engagement_threshold: float = Field(0.35, description="Binary label: likes/followers > t.")
    settle_days: float = Field(3.0, description="Younger posts are excluded.")
    min_posts_per_account: int = Field(5, description="Accounts with fewer posts are excluded.")
    baseline_window: int = Field(12, description="Previous posts in the account's rolling median.")
    pair_window_days: float = Field(30.0, description="Max days between the two posts of a pair.")
    pair_margin: float = Field(0.2, description="Min |log likes difference| for a ranking pair.")
    split: str = Field("account", description="Split strategy: 'account' or 'time'.")
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    seed: int = 42
    include_videos: bool = False

    # Compute.
    workers: int = Field(0, description="Worker processes; 0 means one per CPU core.")
    dask_address: str | None = Field(None, description="Existing Dask scheduler for features.")

    # Scraping.
    max_requests: int = Field(2000, description="Upper bound of Instagram requests in one run.")
    refresh_days: float = Field(7.0, description="Re-fetch likes of posts younger than this.")
    session_dir: Path | None = Field(None, description="Where instaloader session files live.")

    # MLflow.
    mlflow_tracking_uri: str | None = Field(
        None, description="Defaults to MLFLOW_TRACKING_URI, else a SQLite file under home."
    )
    model_name: str = "picme-scorer"
    experiment: str = "picme"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    @property
    def lake_dir(self) -> Path:
        """The lake folder; with ``lake_uri``, this worker's mirror of the bucket's lake
        (a cache the stages pull into and publish from: picme.lake.store)."""
        if self.lake_uri:
            return self.cache_dir / "lake-mirror"
        return self.home / "lake"

    @property
    def duckdb_path(self) -> Path:
        return self.home / "picme.duckdb"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def tracking_uri(self) -> str:
        import os

        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    def n_workers(self) -> int:
        import os

        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)

    def ensure_dirs(self) -> None:
        for d in (self.home, self.raw_dir, self.lake_dir, self.cache_dir, self.artifacts_dir):
            d.mkdir(parents=True, exist_ok=True)


def get_settings(**overrides: object) -> Settings:
    """A fresh Settings; environment is re-read on every call so tests can change it."""
    return Settings(**overrides)  # type: ignore[arg-type]
