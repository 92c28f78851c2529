"""The two faces of a suggestion, carrying the same facts: a rich table for people, and a
JSON list (path, predicted, interval, best_hour, best_weekday, rank, and more) for tools.
Scraped or user-given text is shown as plain text (rich markup is escaped)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from picme.suggest.timing import NO_DIFFERENCE, WEEKDAYS, TimeEffect

if TYPE_CHECKING:
    from picme.suggest.run import Suggestion, SuggestReport


def to_json(report: SuggestReport) -> str:
    items = []
    for s in sorted(report.suggestions, key=lambda s: s.rank):
        item = s.as_dict()
        item["model"] = report.model
        item["history"] = report.history.as_dict() if report.history is not None else None
        items.append(item)
    return json.dumps(items, indent=2, ensure_ascii=False)


def _pct(log_gain: float) -> str:
    return f"{math.expm1(log_gain) * 100:+.0f}%"


def effect_text(effect: TimeEffect, label: str) -> str:
    if not effect.supported:
        return NO_DIFFERENCE
    return f"{label} ({_pct(effect.gain)}, 95% {_pct(effect.low)} to {_pct(effect.high)})"


def _predicted(s: Suggestion) -> str:
    lo, hi = s.interval
    text = f"x{s.predicted:.2f} usual (95% x{lo:.2f} to x{hi:.2f})"
    if s.predicted_likes is not None and s.likes_interval is not None:
        lo_likes, hi_likes = s.likes_interval
        text += f"\n~{s.predicted_likes:,.0f} likes ({lo_likes:,.0f} to {hi_likes:,.0f})"
    return text


def render(report: SuggestReport) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"picme suggest, with {escape(report.model)}")
    for col in ("post", "photo", "predicted likes", "best hour (UTC)", "best weekday"):
        table.add_column(col, overflow="fold")
    for s in sorted(report.suggestions, key=lambda s: s.rank):
        table.add_row(
            str(s.rank),
            escape(s.path),
            _predicted(s),
            effect_text(s.hour, f"{s.hour.best:02d}:00"),
            effect_text(s.weekday, WEEKDAYS[s.weekday.best]),
        )
    console = Console(soft_wrap=True)
    console.print(table)
    if report.history is not None:
        console.print("account history: " + escape(report.history.line()))
    for line in report.method:
        console.print(escape(line), style="dim")
