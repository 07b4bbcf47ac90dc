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

__all__ = ["QUICK", "LLMFigure1Config", "describe", "main", "report", "run_figure", "tune"]


def tune(
    config: LLMFigure1Config, bases: dict[str, dict[str, Any]], run_dir: Path, show_progress: bool
) -> dict[str, dict[str, Any]]:
    """The learning-rate sweep of every method on its tuning seeds: ``{name: {"rate", "tuning"}}``, the chosen
    rate and each rate's final test errors."""
    sweep = {name: jobs.tuning_specs(config, name, stack, kind, run_dir) for name, stack, kind in jobs.METHODS}
    flat = [spec for specs in sweep.values() for spec in specs]
    tuned = dict(zip(flat, jobs.run_specs(config, bases, flat, show_progress, "tuning runs"), strict=True))
    methods: dict[str, dict[str, Any]] = {}
    for name, _, _ in jobs.METHODS:
        tuning: dict[float, list[list[dict[str, Any]]]] = {}
        for spec in sweep[name]:
            tuning.setdefault(spec.learning_rate, []).append(tuned[spec])
        methods[name] = {
            "rate": analysis.choose_learning_rate(tuning),
            "tuning": {f"{r:g}": [run[-1]["eval/test_error"] for run in seeds] for r, seeds in tuning.items()},
        }
    return methods


def report(
    config: LLMFigure1Config,
    bases: dict[str, dict[str, Any]],
    methods: dict[str, dict[str, Any]],
    run_dir: Path,
    show_progress: bool,
) -> None:
    """The reported seeds of every method at its chosen rate, each cut where its test error settled: adds
    ``"runs"`` and ``"censored"`` to each of ``methods``."""
    chosen = {
        name: jobs.reported_specs(config, name, stack, kind, methods[name]["rate"], run_dir)
        for name, stack, kind in jobs.METHODS
    }
    flat = [spec for specs in chosen.values() for spec in specs]
    reported = dict(zip(flat, jobs.run_specs(config, bases, flat, show_progress, "reported runs"), strict=True))
    for name, _, _ in jobs.METHODS:
        cut = [analysis.until_settled(reported[spec], config.tolerance, config.min_steps) for spec in chosen[name]]
        methods[name]["runs"] = [records for records, _ in cut]
        methods[name]["censored"] = [censored for _, censored in cut]


def run_figure(config: LLMFigure1Config, run_dir: Path, *, show_progress: bool = False) -> dict[str, Any]:
    """Every run (reusing finished ones): the two bases, the learning-rate sweep on tuning seeds, the reported
    seeds at the chosen rates; then the table and the figure from their records."""
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
    bases = {"llm": {"weights": weights, "off": llm_off}, "linear": {"file": str(base_file), "off": linear_off}}
    methods = tune(config, bases, run_dir, show_progress)
    report(config, bases, methods, run_dir, show_progress)
    runs = {name: method["runs"] for name, method in methods.items()}
    off_support = {name: bases[stack]["off"] for name, stack, _ in jobs.METHODS}
    rows = analysis.summarise(
        runs,
        off_support,
        config.lift_level,
        censored={name: method["censored"] for name, method in methods.items()},
        learning_rates={name: method["rate"] for name, method in methods.items()},
    )
    table = analysis.markdown_table(rows)
    result = {
        "config": asdict(config),
        "contexts": len(contexts),
        "llm_base_sft_steps": sft_records[-1]["step"],
        "table": rows,
        "pass_at_k": analysis.final_pass_at_k(runs),
        "tuning": {name: method["tuning"] for name, method in methods.items()},
        "runs": runs,
    }
    (run_dir / "llm_figure1.json").write_text(json.dumps(result, default=float))
    (run_dir / "llm_figure1.md").write_text(table + "\n")
    title = f"Figure 1 on the LLM stack: {len(contexts)} contexts, {config.seeds} seeds per method"
    draw(run_dir / "llm_figure1.png", runs, rows, title)
    return result


def describe(result: dict[str, Any]) -> str:
    """The table printed at the end, then each method's exact pass@k of its base and final models."""
    lines = [str(analysis.markdown_table(result["table"]))]
    if "pass_at_k" in result:  # a summary written before pass@k was reported has none
        lines += analysis.pass_at_k_lines(result["pass_at_k"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.llm_figure1 [--quick] ...``: run (reusing finished runs) and print the table."""
    return run_experiment(EXPERIMENT, run_figure, describe, argv)
