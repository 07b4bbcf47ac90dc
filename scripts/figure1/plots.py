"""Figure 1's plot, one panel per row so that each stays readable at a page's width: (top) each PG seed's
off-support likelihood, ORM vs PRM; (middle) test error over seeds with a band; (bottom) each centre's
likelihood under ORM in the first seed, coloured by its base likelihood."""

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

    figure, (left, centre, right) = plt.subplots(3, 1, figsize=(9, 12.5), constrained_layout=True)
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
