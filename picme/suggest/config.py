"""SuggestConfig: the options of ``picme suggest``, declared once (the photos are the
command's arguments)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Shuffles of each account's posting times in the evidence test (picme.suggest.timing);
# declared here, not there, so the CLI reads it without importing pandas and OpenCV.
PERMUTATIONS = 999


class SuggestConfig(BaseModel):
    """Whose post it is and what it will say: the metadata the person controls."""

    model_config = ConfigDict(extra="forbid")

    account: str | None = Field(
        default=None,
        description="The Instagram account that will post (its history in the lake sets "
        "the usual likes and followers; default: relative to a typical account).",
    )
    caption: str | None = Field(default=None, description="The caption you plan to use.")
    hashtags: list[str] = Field(
        default_factory=list,
        description="Hashtags you plan to use (repeat the option, or separate by commas).",
        json_schema_extra={"cli": "--hashtags"},
    )
    json_output: bool = Field(
        default=False,
        description="Print a JSON list (path, predicted, interval, best_hour, "
        "best_weekday, rank, ...) instead of the table.",
        json_schema_extra={"cli": "--json"},
    )
    permutations: int = Field(
        default=PERMUTATIONS,
        description="Shuffles of the posting times behind the timing evidence.",
        json_schema_extra={"cli": False},
    )
    seed: int = Field(
        default=0, description="Seed of the shuffles.", json_schema_extra={"cli": False}
    )
