"""Figure 1's plot, one panel per row so that each stays readable at a page's width: (top) each PG seed's
off-support likelihood, ORM vs PRM; (second) test error over seeds with a band; (third) each centre's
likelihood under ORM in the first seed, coloured by its base likelihood; (bottom, when the summary has them)
the exact pass@k of the base and final models against log k."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.analysis.collapse import collapse_note

STYLES = {"orm": ("ORM (outcome reward)", "tab:red"), "prm": ("PRM (process reward)", "tab:blue")}


def draw(
    path: Path, curves: dict[str, list[dict[str, Any]]], support: dict[str, Any], summary: dict[str, Any], config: Any
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors

    passes = summary.get("pass_at_k")
    rows = 3 if passes is None else 4
    figure, axes = plt.subplots(rows, 1, figsize=(9, 4.2 * rows), constrained_layout=True)
    left, centre, right = axes[:3]
    indices = support["indices"]
    for name, runs in curves.items():
        label, colour = STYLES[name]
        for index, seed in enumerate(runs):
            tracked = np.asarray(seed["tracked_likelihood"])
            mean = tracked[:, indices].mean(axis=1) if indices else np.full(len(seed["step"]), np.nan)
            lifted = summary[name]["lifted_fraction"]
            left.plot(
                seed["step"],
                mean,
                color=colour,
                lw=1.4,
                alpha=0.85,
                ls="--" if name == "orm" else "-",  # dashed, so that ORM lines over PRM ones stay visible
                label=f"{label}: lifted {lifted:.0%} of (context, seed)" if index == 0 else None,
            )
        steps = runs[0]["step"]
        length = min(len(seed["test_error"]) for seed in runs)
        errors = np.array([seed["test_error"][:length] for seed in runs])
        centre.plot(steps[:length], errors.mean(axis=0), color=colour, label=f"{label}, mean of {len(runs)}")
        if len(runs) > 1:
            centre.fill_between(steps[:length], errors.min(axis=0), errors.max(axis=0), color=colour, alpha=0.2)
    if support["fallback"]:
        what = f"none below {config.off_support_threshold:.2g}: the {len(indices)} lowest centres"
    else:
        what = f"{len(indices)} with base likelihood < {support['threshold']:.2g}"
    left.set_title(f"off-support contexts ({what})\nmean likelihood, one line per PG seed", fontsize=10)
    left.set_xlabel("PG step")
    left.set_ylabel("likelihood p(y*|x)")
    left.set_ylim(-0.02, 1.02)
    centre.set_title("test error (band: min to max over seeds)")
    centre.set_xlabel("PG step")
    centre.set_ylabel("1 - E p(y*|x)")
    for axis in (left, centre):
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    base = np.asarray(support["centre_likelihoods"])
    log_base = np.log10(np.maximum(base, 1e-300))
    norm = colors.Normalize(vmin=float(log_base.min()), vmax=float(max(log_base.max(), log_base.min() + 1e-9)))
    colour_map = matplotlib.colormaps["viridis"]
    first = curves["orm"][0]
    per_centre = np.asarray(first["tracked_likelihood"])[:, : len(base)]
    for j in range(len(base)):
        right.plot(first["step"], per_centre[:, j], color=colour_map(norm(log_base[j])), alpha=0.8, linewidth=1)
    right.set_title(f"each centre under ORM, PG seed 0 ({len(base)} centres)")
    right.set_xlabel("PG step")
    right.set_ylabel("likelihood p(y*|x)")
    right.set_ylim(-0.02, 1.02)
    figure.colorbar(cm.ScalarMappable(norm=norm, cmap=colour_map), ax=right, label="log10 base likelihood")
    if passes is not None:
        draw_pass_at_k(axes[3], passes)
    teacher = "given task file" if config.task_file else f"teacher '{config.teacher}', task seed {config.task_seed}"
    notes = {name: collapse_note(summary[name].get("collapse", [])) for name in curves}
    collapses = "".join(f"; {name.upper()}{note}" for name, note in notes.items() if note)
    figure.suptitle(
        f"N={config.seq_len}, k={config.vocab_size}, d={config.context_dim}, mixture of {config.num_components}, "
        f"{teacher};\n{config.policy} policy; PG batch {config.batch_size}, {config.optimizer} lr "
        f"{summary['learning_rates']['pg']:g}, {config.seeds} seed(s)" + collapses
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_pass_at_k(axis: Any, passes: dict[str, Any]) -> None:
    """Exact pass@k against k (log scale): the base model, each seed's final model (thin) and their mean."""
    ks = np.asarray(passes["k"], dtype=np.float64)
    axis.plot(ks, passes["base"], color="black", lw=2, label="base model")
    for name, (label, colour) in STYLES.items():
        if name not in passes:
            continue
        for curve in passes[name]["seeds"]:
            axis.plot(ks, curve, color=colour, lw=0.8, alpha=0.4)
        crossover = passes[name]["crossover_k"]
        where = "none" if crossover is None else f"{crossover:.3g}"
        axis.plot(
            ks,
            passes[name]["mean"],
            color=colour,
            lw=2,
            label=f"{label}, mean over seeds; base overtakes at k*={where}",
        )
    axis.set_xscale("log", base=2)
    axis.set_title("exact pass@k = mean over test contexts of 1 - (1 - p(y*|x))^k")
    axis.set_xlabel("k (samples per context)")
    axis.set_ylabel("pass@k")
    axis.set_ylim(-0.02, 1.02)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
