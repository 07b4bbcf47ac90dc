"""Figure 1's analysis: functions of what the runs wrote (no running). Which contexts are off-support, in how
many PG seeds each reward lifted each of them, the test errors over seeds, and pooled statistics over
task draws with intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.analysis.collapse import collapse_note
from agents.policy.coverage import area_between, crossover_k

REWARD_NAMES = ("orm", "prm")


def off_support(base_likelihoods: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of the contexts whose base likelihood is below ``threshold`` (sorted)."""
    return np.flatnonzero(np.asarray(base_likelihoods) < threshold)


def lowest_fallback(base_likelihoods: np.ndarray, count: int) -> np.ndarray:
    """When no context is below the threshold: the ``count`` contexts of lowest base likelihood (sorted)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count!r}")
    return np.sort(np.argsort(np.asarray(base_likelihoods), kind="stable")[:count])


def lift_counts(final_likelihoods: np.ndarray, level: float = 0.5) -> np.ndarray:
    """In how many seeds each context ended above ``level``: ``(seeds, contexts)`` -> ``(contexts,)`` ints."""
    final = np.asarray(final_likelihoods, dtype=np.float64)
    if final.ndim != 2:
        raise ValueError(f"final_likelihoods must be a (seeds, contexts) array, got shape {final.shape}")
    return (final > level).sum(axis=0)


def spread(values: Sequence[float]) -> dict[str, float]:
    """Mean, minimum and maximum of per-seed values."""
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "min": float(array.min()), "max": float(array.max())}


def summarise_seeds(
    finals: dict[str, dict[str, Any]], base_likelihoods: np.ndarray, labels: Sequence[str], level: float = 0.5
) -> dict[str, Any]:
    """The main job's summary over PG seeds.

    Args:
        finals: per reward, ``{"test_error": [per seed], "off_support_likelihood": (seeds, contexts)}``
            at the end of PG, optionally ``"collapse"``: per seed the collapse guard's flags
            (``agents.analysis.collapse.collapse_flags``), kept as the reward's ``collapse``.
        base_likelihoods: ``(contexts,)`` the off-support contexts' base likelihoods.
        labels: a name per off-support context (e.g. "centre 8", "test 301").
        level: a context counts as lifted when its final likelihood exceeds this.
    """
    summary: dict[str, Any] = {
        "off_support": [
            {"context": label, "base_likelihood": float(base)}
            for label, base in zip(labels, base_likelihoods, strict=True)
        ],
        "lift_level": level,
    }
    for name, final in finals.items():
        likelihoods = np.asarray(final["off_support_likelihood"], dtype=np.float64).reshape(
            len(final["test_error"]), len(labels)
        )
        counts = lift_counts(likelihoods, level) if len(labels) else np.zeros(0, dtype=np.int64)
        summary[name] = {
            "seeds": len(final["test_error"]),
            "test_error": spread(final["test_error"]),
            "lifted_seeds": counts.tolist(),
            "lifted_fraction": float(counts.sum() / likelihoods.size) if likelihoods.size else float("nan"),
            "collapse": list(final.get("collapse", [])),
        }
    return summary


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as printed: one line per off-support context, then the test errors."""
    contexts = summary["off_support"]
    seeds = {name: summary[name]["seeds"] for name in REWARD_NAMES if name in summary}
    which = (
        "none below the threshold: the lowest quarter of the centres stands in"
        if summary.get("fallback")
        else "base likelihood below the threshold"
    )
    lines = [
        f"off-support contexts ({which}): {len(contexts)}; "
        f"lifted above {summary['lift_level']:g} at the end in how many PG seeds:"
    ]
    # Contexts with the same counts under every reward are listed together (there can be dozens).
    groups: dict[tuple[int, ...], list[int]] = {}
    for index in range(len(contexts)):
        groups.setdefault(tuple(summary[name]["lifted_seeds"][index] for name in seeds), []).append(index)
    for counts, members in sorted(
        groups.items(), key=lambda item: -max(contexts[i]["base_likelihood"] for i in item[1])
    ):
        bases = [contexts[i]["base_likelihood"] for i in members]
        names = ", ".join(contexts[i]["context"] for i in members[:6]) + (", ..." if len(members) > 6 else "")
        lifted = ", ".join(f"{name.upper()} {count}/{seeds[name]}" for name, count in zip(seeds, counts, strict=True))
        lines.append(
            f"  {len(members)} context(s), base likelihood {min(bases):.2g} to {max(bases):.2g} ({names}): {lifted}"
        )
    for name in seeds:
        error = summary[name]["test_error"]
        lines.append(
            f"{name.upper()}: final test error {error['mean']:.4f} (seeds from {error['min']:.4f} to {error['max']:.4f}); "
            f"off-support contexts lifted in {summary[name]['lifted_fraction']:.0%} of (context, seed) pairs"
            + collapse_note(summary[name].get("collapse", []))
        )
    if "pass_at_k" in summary:
        lines.extend(pass_at_k_lines(summary["pass_at_k"]))
    return lines


def summarise_pass_at_k(passes: dict[str, Any]) -> dict[str, Any]:
    """The exact pass@k of the base and final models (``{"k", "base": (K,), reward: (seeds, K)}``) with, per
    reward, the mean curve over seeds, and per seed and for the mean: the crossover k* (the smallest k at
    which the base model's pass@k is at least the trained model's; None: none up to the largest k), the
    pass@1 gain and the area between the curves over log2 k (positive: the trained model reaches more)."""
    ks, base = list(passes["k"]), np.asarray(passes["base"], dtype=np.float64)
    result: dict[str, Any] = {"k": ks, "base": base.tolist()}
    for name in REWARD_NAMES:
        if name not in passes:
            continue
        curves = np.asarray(passes[name], dtype=np.float64).reshape(-1, len(ks))
        mean = curves.mean(axis=0)
        result[name] = {
            "seeds": curves.tolist(),
            "mean": mean.tolist(),
            "crossover_k": crossover_k(ks, base, mean),
            "crossover_k_per_seed": [crossover_k(ks, base, curve) for curve in curves],
            "pass_at_1_gain": float(mean[0] - base[0]),
            "area": area_between(ks, base, mean),
            "area_per_seed": [area_between(ks, base, curve) for curve in curves],
        }
    return result


def k_text(k: int | None, largest: int) -> str:
    """k as printed: a power of 2 as 2^e, None as "none up to 2^e"."""
    if k is None:
        return f"none up to {k_text(largest, largest)}"
    return f"2^{k.bit_length() - 1}" if k > 16 and k & (k - 1) == 0 else str(k)


def pass_at_k_lines(passes: dict[str, Any]) -> list[str]:
    """The pass@k summary as printed: a few k of each curve, then per reward the crossover and the gains."""
    ks = passes["k"]
    shown = [index for index, k in enumerate(ks) if index in (0, len(ks) - 1) or (k.bit_length() - 1) % 6 == 0]
    header = ", ".join(k_text(ks[index], ks[-1]) for index in shown)
    lines = [f"exact pass@k on the test set at k = {header}:"]
    lines.append("  base: " + ", ".join(f"{passes['base'][index]:.4f}" for index in shown))
    for name in REWARD_NAMES:
        if name not in passes:
            continue
        entry = passes[name]
        lines.append(
            f"  {name.upper()} (mean of {len(entry['seeds'])}): "
            + ", ".join(f"{entry['mean'][index]:.4f}" for index in shown)
        )
    for name in REWARD_NAMES:
        if name not in passes:
            continue
        entry = passes[name]
        per_seed = ", ".join(k_text(k, ks[-1]) if k is not None else "none" for k in entry["crossover_k_per_seed"])
        lines.append(
            f"{name.upper()}: base pass@k overtakes it at k* = {k_text(entry['crossover_k'], ks[-1])} "
            f"(per seed: {per_seed}); pass@1 gain {entry['pass_at_1_gain']:+.4f}; "
            f"area between the curves {entry['area']:+.3f} (pass rate x doublings of k)"
        )
    return lines


def bootstrap_interval(
    values: np.ndarray, weights: np.ndarray | None = None, *, level: float = 0.95, samples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a (weighted) mean over clusters (here: task draws).

    ``values`` ``(clusters,)`` per-draw statistics (e.g. the fraction of that draw's off-support contexts
    lifted) and ``weights`` their sizes, so the pooled statistic is sum(w v) / sum(w) and draws are
    resampled whole. With one cluster the interval is the point itself.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(samples, len(values)))
    means = (values[picks] * weights[picks]).sum(axis=1) / weights[picks].sum(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def pool_draws(draws: Sequence[dict[str, Any]], level: float = 0.95) -> dict[str, Any]:
    """Pool the per-draw summaries of several task draws: per reward, the fraction of (off-support context,
    seed) pairs lifted, with a bootstrap interval over draws, and the final test error with one.

    Each entry of ``draws`` is a ``summarise_seeds`` result. A draw whose base model left no context below
    the threshold (``fallback``) adds its test error but no off-support contexts.
    """
    with_support = [draw for draw in draws if not draw.get("fallback")]
    pooled: dict[str, Any] = {
        "draws": len(draws),
        "draws_with_off_support": len(with_support),
        "off_support_contexts": int(sum(len(draw["off_support"]) for draw in with_support)),
    }
    for name in REWARD_NAMES:
        present = [draw[name] for draw in draws if name in draw]
        if not present:
            continue
        supported = [draw[name] for draw in with_support if name in draw]
        lifted = np.array([sum(entry["lifted_seeds"]) for entry in supported], dtype=np.float64)
        pairs = np.array([len(entry["lifted_seeds"]) * entry["seeds"] for entry in supported], dtype=np.float64)
        fractions = np.divide(lifted, pairs, out=np.zeros_like(lifted), where=pairs > 0)
        errors = np.array([entry["test_error"]["mean"] for entry in present])
        pooled[name] = {
            "lifted_fraction": float(lifted.sum() / pairs.sum()) if pairs.sum() else float("nan"),
            "lifted_interval": bootstrap_interval(fractions, pairs, level=level),
            "lifted_pairs": [int(lifted.sum()), int(pairs.sum())],
            "test_error": float(errors.mean()),
            "test_error_interval": bootstrap_interval(errors, level=level),
        }
    return pooled
