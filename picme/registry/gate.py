"""The champion gate: a registered version becomes champion only when it beats every
reference on the same test split by a margin that a paired bootstrap over accounts calls
real.

References: the ``heuristic`` and ``followers`` baselines, ``random`` (chance: one half of
the pairs), and the current champion when there is one. For each, the statistic is the
difference in within-account pairwise accuracy (candidate minus reference) on the test
pairs. The bootstrap has two levels: accounts are drawn with replacement first (pairs of one
account are not independent: same audience, same photographer, so resampling pairs alone
would give intervals that are too narrow), then each drawn account's pairs are resampled.
Both scorers are judged on the same resampled pairs (paired). The 95% interval is the 2.5th
to 97.5th percentile of the difference over ``n_boot`` resamples; the candidate wins
against a reference when the interval's lower end is above 0.

There is no free pass: the first model must beat the baselines too. A champion that could
not be re-evaluated on this split is a failed comparison, and a failed comparison never
promotes. This module is pure numpy, so the rule is tested without MLflow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

N_BOOT = 2000
LEVEL = 0.95
CHANCE = "random"


@dataclass(frozen=True)
class PairOutcomes:
    """Per test pair: the account it belongs to and how right a scorer was (1, 0, or 0.5
    for a tie), for pairs whose two posts both have scores."""

    account: np.ndarray
    right: np.ndarray

    @classmethod
    def from_scores(
        cls,
        scores: np.ndarray,
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
        accounts: Sequence[object],
    ) -> PairOutcomes:
        a, b, t = pairs
        s = np.asarray(scores, np.float64)
        diff = s[a] - s[b] if len(a) else np.zeros(0)
        right = np.where(diff == 0, 0.5, ((diff > 0) == (np.asarray(t) > 0.5)).astype(float))
        right = np.where(np.isfinite(diff), right, np.nan)
        acc = np.asarray(accounts, dtype=object)[a] if len(a) else np.zeros(0, dtype=object)
        return cls(account=acc, right=right)

    @classmethod
    def chance(cls, like: PairOutcomes) -> PairOutcomes:
        """What random scores are right on, in expectation: half of every pair."""
        return cls(account=like.account, right=np.full(len(like.right), 0.5))


@dataclass(frozen=True)
class Comparison:
    """The candidate against one reference on the same pairs."""

    reference: str
    candidate_score: float
    reference_score: float
    diff: float
    low: float
    high: float
    n_pairs: int
    n_accounts: int
    failed: str | None = None  # why the reference could not be scored, if it could not

    @property
    def wins(self) -> bool:
        return self.failed is None and np.isfinite(self.low) and self.low > 0

    def line(self) -> str:
        if self.failed is not None:
            return f"vs {self.reference}: not compared ({self.failed})"
        verdict = "beats" if self.wins else "does not beat"
        return (
            f"{verdict} {self.reference}: {self.candidate_score:.3f} vs "
            f"{self.reference_score:.3f}, difference {self.diff:+.3f} "
            f"(95% interval {self.low:+.3f} to {self.high:+.3f}; "
            f"{self.n_pairs} pairs, {self.n_accounts} accounts)"
        )


@dataclass(frozen=True)
class GateDecision:
    promoted: bool
    reason: str
    comparisons: list[Comparison] = field(default_factory=list)

    def tags(self, prefix: str = "picme.gate") -> dict[str, str]:
        """The evidence, as registry tags: scores, interval and size per reference."""
        out = {f"{prefix}.promoted": str(self.promoted).lower()}
        for c in self.comparisons:
            key = f"{prefix}.{c.reference.replace(' ', '_')}"
            if c.failed is not None:
                out[f"{key}.failed"] = c.failed[:250]
                continue
            out[f"{key}.diff"] = f"{c.diff:.6f}"
            out[f"{key}.interval"] = f"{c.low:.6f},{c.high:.6f}"
            out[f"{key}.reference_score"] = f"{c.reference_score:.6f}"
            out[f"{key}.n_pairs"] = str(c.n_pairs)
            out[f"{key}.n_accounts"] = str(c.n_accounts)
        return out

    def summary(self) -> str:
        return "\n".join([self.reason] + [f"  {c.line()}" for c in self.comparisons])


def _weights(account_idx: np.ndarray, n_acc: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap weights of the pairs, in chunks of resamples: accounts drawn with
    replacement (multinomial), then each drawn account's pairs resampled (Poisson), so the
    interval reflects both how accounts differ and how noisy one account's pairs are. With
    a single test account this is the bootstrap over its pairs."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, 4_000_000 // max(1, len(account_idx))))
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        draws = rng.multinomial(n_acc, np.full(n_acc, 1.0 / n_acc), size=m)
        yield rng.poisson(draws[:, account_idx]).astype(np.float64)
        done += m


def compare(
    name: str,
    candidate: PairOutcomes,
    reference: PairOutcomes,
    *,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = 0,
) -> Comparison:
    """Paired two-level bootstrap (accounts, then their pairs) of the accuracy difference
    on the pairs both scored."""
    both = np.isfinite(candidate.right) & np.isfinite(reference.right)
    accounts = candidate.account[both]
    diff = candidate.right[both] - reference.right[both]
    order = list(dict.fromkeys(accounts.tolist()))
    n_pairs, n_acc = int(both.sum()), len(order)
    if n_pairs == 0:
        return Comparison(name, np.nan, np.nan, np.nan, np.nan, np.nan, 0, 0, "no test pairs")
    index = {acc: i for i, acc in enumerate(order)}
    account_idx = np.array([index[a] for a in accounts], np.int64)
    c_score = float(candidate.right[both].mean())
    r_score = float(reference.right[both].mean())
    stats = []
    for w in _weights(account_idx, n_acc, n_boot, seed):
        total = w.sum(axis=1)
        ok = total > 0
        stats.append((w[ok] @ diff) / total[ok])
    diffs = np.concatenate(stats) if stats else np.zeros(0)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail]) if diffs.size else (np.nan, np.nan)
    return Comparison(
        name, c_score, r_score, c_score - r_score, float(low), float(high), n_pairs, n_acc
    )


def decide(
    candidate: PairOutcomes,
    references: Mapping[str, PairOutcomes | str],
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> GateDecision:
    """Promote only if the candidate wins against every reference.

    ``references`` maps a name to its outcomes, or to a string saying why that reference
    could not be scored (a champion that failed to re-evaluate): that blocks promotion."""
    comparisons = []
    for name, ref in references.items():
        if isinstance(ref, str):
            comparisons.append(
                Comparison(name, np.nan, np.nan, np.nan, np.nan, np.nan, 0, 0, failed=ref)
            )
        else:
            comparisons.append(compare(name, candidate, ref, n_boot=n_boot, seed=seed))
    losers = [c for c in comparisons if not c.wins]
    if not comparisons:
        return GateDecision(False, "nothing to compare with: no test pairs", comparisons)
    if losers:
        first = losers[0]
        reason = (
            f"challenger: {first.line()}"
            if first.failed is None
            else f"challenger: {first.reference} could not be compared ({first.failed})"
        )
        return GateDecision(False, reason, comparisons)
    names = ", ".join(c.reference for c in comparisons)
    return GateDecision(True, f"champion: beats {names} on the same test split", comparisons)
