"""The LLM Figure 1's run: the tiny Llama's SFT base and TRL runs, the linear stack's runs beside them, then
the table and the figure from their records (``python -m scripts.llm_figure1``; settings in
``scripts.llm_figure1.settings``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.experiment.cli import run_experiment
from agents.experiment.jobs import run_job
from scripts.llm_figure1 import analysis, jobs
from scripts.llm_figure1.plots import draw
from scripts.llm_figure1.settings import EXPERIMENT, QUICK, LLMFigure1Config

__all__ = ["QUICK", "LLMFigure1Config", "describe", "main", "run_figure"]


def run_figure(config: LLMFigure1Config, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Every run (reusing finished ones), then the table and the figure from their records (the runs show
    no progress bars: ``show_progress`` is accepted for the one experiment runner)."""
    task = jobs.build_task(config)
    contexts = jobs.every_context(task)
    weights, sft_records = jobs.llm_base(config, task, run_dir / "llm" / "base")
    llm_base_likelihoods = jobs.llm_likelihoods(config, task, weights, contexts)
    llm_off = analysis.off_support_indices(llm_base_likelihoods, config.off_support_threshold)
    base_error = float(sft_records[-1]["eval/test_error"])
    linear_base = jobs.linear_base_job(config, run_dir / "linear" / "base", base_error)
    run_job(linear_base)
    base_file = jobs.linear_base_file(Path(linear_base.run_dir))
    linear_off = analysis.off_support_indices(
        jobs.linear_likelihoods(task, base_file, contexts), config.off_support_threshold
    )
    runs: dict[str, list[list[dict[str, Any]]]] = {}
    off_support: dict[str, Any] = {}
    for name, stack, reward in jobs.METHODS:
        if stack == "llm":
            runs[name] = [
                jobs.llm_run(config, task, weights, reward, seed, llm_off, run_dir / "llm" / reward / f"seed{seed}")
                for seed in range(config.seeds)
            ]
            off_support[name] = llm_off
    linear = jobs.run_linear(jobs.linear_jobs(config, task, base_file, linear_off, run_dir / "linear"))
    for name, stack, _ in jobs.METHODS:
        if stack == "linear":
            runs[name] = [linear[name, seed] for seed in range(config.seeds)]
            off_support[name] = linear_off
    rows = analysis.summarise(runs, off_support, config.lift_level)
    table = analysis.markdown_table(rows)
    result = {
        "config": asdict(config),
        "contexts": len(contexts),
        "llm_base_sft_steps": sft_records[-1]["step"],
        "table": rows,
        "runs": runs,
    }
    (run_dir / "llm_figure1.json").write_text(json.dumps(result, default=float))
    (run_dir / "llm_figure1.md").write_text(table + "\n")
    title = f"Figure 1 on the LLM stack: {len(contexts)} contexts, {config.seeds} seeds per method"
    draw(run_dir / "llm_figure1.png", runs, rows, title)
    return result


def describe(result: dict[str, Any]) -> str:
    """The table printed at the end."""
    return str(analysis.markdown_table(result["table"]))


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.llm_figure1 [--quick] ...``: run (reusing finished runs) and print the table."""
    return run_experiment(EXPERIMENT, run_figure, describe, argv)
