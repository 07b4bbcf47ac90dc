"""Statistics of the comparison experiments, in one place and from well-kept libraries: intervals of a mean
over seeds (Student's t, ``scipy.stats``), robust aggregates with stratified bootstrap intervals and the
probability of improvement (``rliable``, Agarwal et al., "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", NeurIPS 2021), and the two fits the theory is read by, each with its interval:
growth per token (queries ~ C r^N) and a power-law exponent (queries ~ C x^p, e.g. x = 1/gamma).

Scores are arrays ``(runs,)`` or ``(runs, tasks)``: one row per seed, one column per task (the
experiments here have one task per setting, so mostly ``(runs,)``). Every bootstrap is seeded, so a
summary drawn twice from the same runs is identical.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_REPS = 2000
# The probability of improvement runs a Mann-Whitney test per resample (about 1 ms): fewer resamples.
IMPROVEMENT_REPS = 1000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its confidence interval ``[low, high]`` (NaN where none can be formed)."""

    point: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float | None]:
        """JSON-ready: NaN becomes None."""
        return {name: (None if math.isnan(value) else value) for name, value in vars(self).items()}


def _scores(values: np.ndarray | Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} must be (runs,) or (runs, tasks) with at least one run, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array.ravel().tolist()}")
    return array


def mean_interval(values: np.ndarray, axis: int = 0, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Mean along ``axis`` and the half-width of its Student-t interval: t_((1+c)/2, n-1) * s / sqrt(n)
    (``scipy.stats.t``). NaN half-width with a single value (no spread to estimate)."""
    values = np.asarray(values, dtype=float)
    count = values.shape[axis]
    mean = values.mean(axis=axis)
    if count < 2:
        return mean, np.full_like(mean, np.nan)
    quantile = stats.t.ppf(0.5 + confidence / 2, df=count - 1)
    return mean, quantile * stats.sem(values, axis=axis, ddof=1)


def _bootstrap(
    scores: list[np.ndarray], function: Callable[..., np.ndarray], reps: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Point estimate ``function(*scores)`` and its stratified bootstrap percentile interval ``(2, k)``:
    each array's runs are resampled within each task (column), independently per array."""
    from rliable import library

    class SeededBootstrap(library.StratifiedIndependentBootstrap):  # type: ignore[misc]
        # rliable 1.2.0 draws the resampled indices from NumPy's global random state even when given a
        # seed; here they come from the bootstrap's own generator, so a summary never depends on (or
        # moves) global state and is the same every time it is drawn.
        def _get_indices(self, num_runs: int, array_shape: tuple[int, ...], strata: list[np.ndarray]) -> tuple:
            return (self.generator.integers(num_runs, size=array_shape), *strata)

    bootstrap = SeededBootstrap(*scores, seed=np.random.default_rng(seed))
    interval = bootstrap.conf_int(function, reps=reps, size=CONFIDENCE, method="percentile")
    return np.asarray(function(*scores)), np.asarray(interval)


def aggregate(
    values: np.ndarray | Sequence[float],
    statistic: str = "iqm",
    *,
    reps: int = BOOTSTRAP_REPS,
    seed: int = BOOTSTRAP_SEED,
) -> Estimate:
    """An aggregate of scores ``(runs,)`` or ``(runs, tasks)`` with its stratified bootstrap (percentile)
    interval: ``statistic`` "iqm" (interquartile mean: the mean of the middle 50% of all scores),
    "mean" or "median" (rliable's aggregates)."""
    from rliable import metrics

    functions = {"iqm": metrics.aggregate_iqm, "mean": metrics.aggregate_mean, "median": metrics.aggregate_median}
    if statistic not in functions:
        raise ValueError(f"statistic must be one of {sorted(functions)}, got {statistic!r}")
    array = _scores(values, "values")
    function = functions[statistic]
    point, interval = _bootstrap([array], lambda s: np.array([function(s)]), reps, seed)
    return Estimate(float(point[0]), float(interval[0, 0]), float(interval[1, 0]))


def probability_of_improvement(
    x: np.ndarray | Sequence[float],
    y: np.ndarray | Sequence[float],
    *,
    lower_is_better: bool = False,
    reps: int = IMPROVEMENT_REPS,
    seed: int = BOOTSTRAP_SEED,
) -> Estimate:
    """P(X > Y): the chance that a run of ``x`` beats a run of ``y`` on a task (ties count one half;
    the Mann-Whitney statistic over n m pairs, averaged over tasks), with a stratified bootstrap interval.
    ``lower_is_better`` for errors and query counts (then it is P(X < Y))."""
    sign = -1.0 if lower_is_better else 1.0
    first, second = sign * _scores(x, "x"), sign * _scores(y, "y")
    if first.shape[1] != second.shape[1]:
        raise ValueError(f"x and y must have the same tasks, got shapes {first.shape} and {second.shape}")
    from rliable import metrics

    point, interval = _bootstrap(
        [first, second], lambda a, b: np.array([metrics.probability_of_improvement(a, b)]), reps, seed
    )
    return Estimate(float(point[0]), float(interval[0, 0]), float(interval[1, 0]))


@dataclass(frozen=True)
class LogFit:
    """Least squares of log y on x: log y = intercept + slope x, over ``points`` points, with the slope's
    Student-t interval (n - 2 degrees of freedom; NaN with two points)."""

    slope: float
    low: float
    high: float
    points: int


def fit_log_slope(xs: Sequence[float], ys: Sequence[float | None], confidence: float = CONFIDENCE) -> LogFit | None:
    """Fit log y against x over the points with a positive y (``scipy.stats.linregress``); None with fewer
    than two such points or a single distinct x."""
    pairs = [(float(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if y is not None and y > 0]
    if len(pairs) < 2 or len({x for x, _ in pairs}) < 2:
        return None
    x, log_y = np.array(pairs).T
    result = stats.linregress(x, log_y)
    slope = float(result.slope)
    if len(pairs) < 3:
        return LogFit(slope, math.nan, math.nan, len(pairs))
    half_width = float(stats.t.ppf(0.5 + confidence / 2, df=len(pairs) - 2) * result.stderr)
    return LogFit(slope, slope - half_width, slope + half_width, len(pairs))


def growth_per_token(lengths: Sequence[float], values: Sequence[float | None]) -> Estimate | None:
    """r in values ~ C r^N: exp of the slope of log values against the length N, with the interval
    mapped through exp (the theory: about k per token under the outcome reward, flat under the process
    reward; arXiv 2603.06957). None where no fit can be made."""
    fit = fit_log_slope(lengths, values)
    return None if fit is None else Estimate(math.exp(fit.slope), math.exp(fit.low), math.exp(fit.high))


def power_law_exponent(xs: Sequence[float], values: Sequence[float | None]) -> Estimate | None:
    """p in values ~ C x^p: the slope of log values against log x, with its interval (for queries against
    1/gamma the theory's bounds have p = 2; against gamma, p = -2). None where no fit can be made."""
    if any(x <= 0 for x in xs):
        raise ValueError(f"xs must be positive for a power law, got {list(xs)}")
    fit = fit_log_slope([math.log(x) for x in xs], values)
    return None if fit is None else Estimate(fit.slope, fit.low, fit.high)


def point_or_none(estimate: Estimate | None) -> float | None:
    """The point of an estimate (None for no estimate): the single number summaries have always stored."""
    return None if estimate is None else estimate.point


def interval_or_none(estimate: Estimate | None) -> list[float | None] | None:
    """``[low, high]`` of an estimate, None entries where there is no interval."""
    if estimate is None:
        return None
    values = estimate.as_dict()
    return [values["low"], values["high"]]


def interval_text(interval: Sequence[float | None] | None, spec: str = ".2f") -> str:
    """`` [low, high]`` formatted with ``spec`` for a summary line; empty where there is no interval."""
    if interval is None or any(value is None or math.isnan(value) for value in interval):
        return ""
    low, high = interval
    return f" [{low:{spec}}, {high:{spec}}]"


def growth_text(growth: Mapping[str, Any]) -> str | None:
    """A fitted growth law for a summary line: ``x<rate> [low, high] per token, N^<power> [low, high]`` from
    ``growth_fits``' keys; None where either law could not be fitted."""
    rate, power = growth["rate_per_token"], growth["power_of_n"]
    if rate is None or power is None:
        return None
    return (
        f"x{rate:.3g}{interval_text(growth['rate_per_token_ci95'], '.3g')} per token, "
        f"N^{power:.2f}{interval_text(growth['power_of_n_ci95'])}"
    )


def query_statistics(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Queries to the target over the runs of one setting: the median and geometric mean of the runs that
    reached it, how many did, and the most queries any run spent (a lower bound where one did not)."""
    reached = [float(s["queries_to_target"]) for s in summaries if s["reached"]]
    return {
        "runs": len(summaries),
        "reached": len(reached),
        "median": float(np.median(reached)) if reached else None,
        "geometric_mean": float(np.exp(np.mean(np.log(reached)))) if reached else None,
        "min": min(reached) if reached else None,
        "max": max(reached) if reached else None,
        "max_spent": max(float(s["final_reward_queries"]) for s in summaries) if summaries else None,
    }
