"""The pass@k experiment's plots, in the style of the papers' figures (pass@k against log k): (first panel)
the base model and every learner at the main setting, with 95% bootstrap bands over task draws; (then, one
panel per swept quantity) the gap pass@k(trained) - pass@k(base) against log k for ORM (dashed) and PRM
(solid): below zero, the base model reaches more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

TITLES = {
    "length": "training length (ORM and PRM at checkpoints; the last is the long run)",
    "seq_len": "sequence length N",
    "base": "base model's pre-training steps",
    "policy": "policy",
}
VARIED = {"length": "step", "seq_len": "seq_len", "base": "pretrain_steps", "policy": "policy"}


def draw(path: Path, result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = np.asarray(result["k"], dtype=np.float64)
    groups = [group for group in TITLES if any(entry["group"] == group for entry in result["settings"])]
    figure, axes = plt.subplots(1 + len(groups), 1, figsize=(9, 4.4 * (1 + len(groups))), constrained_layout=True)
    axes = np.atleast_1d(axes)
    main = [entry for entry in result["settings"] if entry["group"] == "learners"]
    colours = matplotlib.colormaps["tab10"]
    first = axes[0]
    for index, entry in enumerate(main):
        curve = entry["summary"]["trained_pass_at_k"]
        if index == 0:
            base = entry["summary"]["base_pass_at_k"]
            first.plot(ks, base["mean"], color="black", lw=2.2, label="base model")
            first.fill_between(ks, base["low"], base["high"], color="black", alpha=0.12)
        colour = colours(index % 10)
        first.plot(ks, curve["mean"], color=colour, lw=1.5, label=entry["setting"]["learner"])
        first.fill_between(ks, curve["low"], curve["high"], color=colour, alpha=0.12)
    if main:
        setting = main[0]["setting"]
        first.set_title(
            f"every learner at N={setting['seq_len']}, {setting['policy']} policy, {setting['step']} updates "
            "(PPO: its own network, base = its start)",
            fontsize=10,
        )
    first.set_ylabel("exact pass@k")
    first.legend(fontsize=7, ncol=3)
    for axis, group in zip(axes[1:], groups, strict=True):
        entries = [entry for entry in result["settings"] if entry["group"] == group]
        if group != "length":  # the main setting's ORM and PRM, the value the sweep departs from
            entries += [entry for entry in main if entry["setting"]["learner"] in ("orm", "prm")]
        values = sorted({entry["setting"][VARIED[group]] for entry in entries}, key=lambda v: (str(type(v)), v))
        shades = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, max(1, len(values))))
        for entry in entries:
            setting = entry["setting"]
            colour = shades[values.index(setting[VARIED[group]])]
            gap = entry["summary"]["gap_pass_at_k"]
            style = "--" if setting["learner"] == "orm" else "-"
            axis.plot(
                ks,
                gap["mean"],
                style,
                color=colour,
                lw=1.5,
                label=f"{setting['learner'].upper()} {VARIED[group]}={setting[VARIED[group]]}",
            )
            axis.fill_between(ks, gap["low"], gap["high"], color=colour, alpha=0.1)
        axis.axhline(0.0, color="black", lw=0.8)
        axis.set_title(TITLES[group], fontsize=10)
        axis.set_ylabel("pass@k(trained) - pass@k(base)")
        axis.legend(fontsize=7, ncol=2)
    for axis in axes:
        axis.set_xscale("log", base=2)
        axis.set_xlabel("k (samples per context)")
        axis.grid(alpha=0.3)
    config = result["config"]
    figure.suptitle(
        f"exact pass@k, k={config['vocab_size']}, d={config['context_dim']}; {config['draws']} task draws x "
        f"{config['seeds']} seeds; bands: 95% bootstrap over draws"
    )
    figure.savefig(path, dpi=80)
    plt.close(figure)
