"""Figure 1 on the LLM stack: does the outcome reward stall where the base model gives y* no likelihood, and does
the per-token process reward get past it, for a transformer trained by TRL?

"Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (arXiv 2603.06957), Figure 1, on
``seqreward/RademacherProcess-v0`` (contexts a prompt carries exactly): a tiny Llama is fine-tuned (TRL's
SFTTrainer) on the contexts whose first coordinate is +1 until its test error reaches ``--base-test-error``;
then, per seed, TRL's GRPOTrainer with the outcome reward, GRPOTrainer with the process reward summed into one
scalar per completion, and ``agents.llm.ProcessGRPOTrainer`` with the per-token process reward (A_i = r_i) train
it. Beside them, on the same task, the package's linear policy is
pre-trained to the same base test error and trained by PaperPG (ORM and PRM) and GroupPG (GRPO, outcome), with
as many responses per step. Every context of the task is tracked; the off-support ones (base likelihood below
``--off-support-threshold``, from each stack's own base) are counted as lifted when they end above
``--lift-level``.

Writes ``llm_figure1.png``, ``llm_figure1.json`` (table and curves) and ``llm_figure1.md`` (the table) in the run
folder, with every run's folder (``metrics.jsonl``, TensorBoard events); the same command reuses finished runs.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/llm_figure1.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.common.config_checks import check_fields, check_interval, check_positive
from agents.common.threads import limit_threads
from agents.experiment.cli import command_line, mark_experiment_folder, start_fresh
from agents.experiment.jobs import run_job
from scripts import llm_figure1_analysis as analysis
from scripts import llm_figure1_jobs as jobs
from scripts.llm_figure1_plots import draw


@dataclass(frozen=True)
class LLMFigure1Config:
    """Settings of the LLM Figure 1 (defaults: the full setting)."""

    task_seed: int = 0
    """Which draw of the task's teacher."""
    hidden_size: int = 32
    """Width of the tiny Llama."""
    num_layers: int = 2
    """Its decoder layers."""
    num_heads: int = 2
    """Its attention heads."""
    base_test_error: float = 0.6
    """SFT stops at the first evaluation with test error at most this; the linear base likewise."""
    sft_max_steps: int = 300
    """SFT's step limit."""
    sft_eval_every: int = 10
    """SFT steps between evaluations (where it may stop)."""
    steps: int = 400
    """Policy-gradient steps of every run."""
    prompts_per_step: int = 8
    """Contexts per step."""
    group_size: int = 8
    """Responses per context (PaperPG gets prompts_per_step * group_size fresh contexts per step)."""
    llm_learning_rate: float = 3e-4
    """Adam learning rate of the TRL runs."""
    pretrain_batch_size: int = 64
    """(x, y*) pairs per step of the linear base's pre-training (Adagrad)."""
    pretrain_learning_rate: float = 0.1
    """Its learning rate."""
    pretrain_max_steps: int = 2000
    """Its step limit (it stops at base_test_error)."""
    group_learning_rate: float = 0.1
    """GroupPG's learning rate (SGD)."""
    eval_every: int = 50
    """Steps between evaluations."""
    test_size: int = 1024
    """Test contexts."""
    off_support_threshold: float = 0.05
    """A tracked context is off-support when its base likelihood is below this."""
    lift_level: float = 0.5
    """An off-support context is lifted when its final likelihood exceeds this."""
    seeds: int = 3
    """Seeds per method."""
    seed: int = 0
    """Root seed: every run's streams derive from it."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_positive(self, "off_support_threshold")
        check_interval(self, "base_test_error", 0.0, 1.0, low_open=True, high_open=True)
        check_interval(self, "lift_level", 0.0, 1.0, low_open=True, high_open=True)


QUICK = LLMFigure1Config(sft_max_steps=150, steps=30, eval_every=10, test_size=256, pretrain_max_steps=500)
WRITES = ("llm_figure1.png", "llm_figure1.json", "llm_figure1.md", "llm", "linear")


def run_figure(config: LLMFigure1Config, run_dir: Path) -> dict[str, Any]:
    """Every run (reusing finished ones), then the table and the figure from their records."""
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


def main(argv: list[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    config, args = command_line(
        LLMFigure1Config,
        QUICK if quick else LLMFigure1Config(),
        argv,
        description=__doc__ or "",
        prog="llm_figure1.py",
        quick_help="a small setting that runs in about a minute",
        run_dir_help="run folder (default runs/llm_figure1/<setting>-seed<seed>)",
    )
    limit_threads(1)
    run_dir = args.run_dir or Path("runs") / "llm_figure1" / f"{'quick' if args.quick else 'full'}-seed{config.seed}"
    if args.fresh:
        start_fresh(run_dir, "llm_figure1", WRITES)
    mark_experiment_folder(run_dir, "llm_figure1")
    started = time.perf_counter()
    print(f"LLM Figure 1 run folder: {run_dir}", flush=True)
    run_figure(config, run_dir)
    print((run_dir / "llm_figure1.md").read_text())
    print(f"wrote {run_dir / 'llm_figure1.png'} in {time.perf_counter() - started:.0f} s")
    return run_dir


if __name__ == "__main__":
    main(sys.argv[1:])
