"""Figure 1 on the LLM stack: does the outcome reward stall where the base model gives y* no likelihood, and does
the per-token process reward get past it, for a transformer trained by TRL?

"Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (arXiv 2603.06957), Figure 1, on
``seqreward/RademacherProcess-v0`` (contexts a prompt carries exactly): a tiny Llama is fine-tuned (TRL's
SFTTrainer) on the contexts whose first coordinate is +1 until its test error reaches ``--base-test-error``;
then TRL's GRPOTrainer with the outcome reward and with the process reward summed into one scalar per completion,
``ProcessGRPOTrainer`` with the per-token process reward (A_i = r_i), RLOO and OBLR-PO (``OBLRPOTrainer``, arXiv
2511.23310) with the outcome reward train it. Beside them, on the same task, the package's linear policy is
pre-trained to the same base test error and trained by PaperPG (ORM and PRM) and GroupPG (GRPO, outcome), with
as many responses per step.

Every method's learning rate is chosen by a sweep (``*_learning_rates``) on ``tuning_seeds`` tuning runs of
``tuning_steps`` steps (their seeds keyed apart from the reported ones); then ``seeds`` reported runs train at
the chosen rate until the test error's change over the last fifth of the run is at most ``tolerance`` (from
``min_steps`` on), or to ``max_steps`` (reported as censored). Every context of the task is tracked; the
off-support ones (base likelihood below ``--off-support-threshold``, from each stack's own base) are counted as
lifted when they end above ``--lift-level``.

Writes ``llm_figure1.png``, ``llm_figure1.json`` (table, chosen rates, tuning results and curves) and
``llm_figure1.md`` (the table) in the run folder, with every run's folder (``metrics.jsonl``, TensorBoard
events); the same command reuses finished runs.
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

from agents.common.config_checks import ConfigError, check_fields, check_interval, check_positive
from agents.common.seeding import derive_seed
from agents.common.threads import limit_threads
from agents.experiment.cli import command_line, mark_experiment_folder, start_fresh
from agents.experiment.jobs import run_job
from agents.experiment.sweep import run_sweep
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
    max_steps: int = 2000
    """Step cap of the reported runs (a run that has not settled by then is censored)."""
    min_steps: int = 200
    """No run is called settled before this step."""
    tolerance: float = 0.005
    """A run has settled when its test error changed by at most this over the last fifth of the run."""
    tuning_steps: int = 200
    """Steps of each tuning run of the learning-rate sweep."""
    tuning_seeds: int = 2
    """Tuning runs per learning rate (seeds keyed apart from the reported ones)."""
    prompts_per_step: int = 8
    """Contexts per step."""
    group_size: int = 8
    """Responses per context (PaperPG gets prompts_per_step * group_size fresh contexts per step)."""
    llm_learning_rates: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3)
    """Adam learning rates swept for TRL's GRPO (both rewards), per-token PRM and RLOO."""
    oblr_learning_rates: tuple[float, ...] = (0.0003, 0.001, 0.003, 0.01)
    """eta_max values swept for OBLR-PO (SGD at the SNR-governed rate)."""
    paper_learning_rates: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    """Adagrad learning rates swept for PaperPG (ORM and PRM)."""
    group_learning_rates: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    """SGD learning rates swept for GroupPG (GRPO)."""
    pretrain_batch_size: int = 64
    """(x, y*) pairs per step of the linear base's pre-training (Adagrad)."""
    pretrain_learning_rate: float = 0.1
    """Its learning rate."""
    pretrain_max_steps: int = 2000
    """Its step limit (it stops at base_test_error)."""
    eval_every: int = 50
    """Steps between evaluations."""
    test_size: int = 1024
    """Test contexts."""
    off_support_threshold: float = 0.05
    """A tracked context is off-support when its base likelihood is below this."""
    lift_level: float = 0.5
    """An off-support context is lifted when its final likelihood exceeds this."""
    seeds: int = 5
    """Reported seeds per method."""
    seed: int = 0
    """Root seed: every run's streams derive from it."""
    workers: int = 1
    """Local worker processes for the runs of each phase (tuning, then reported); results do not depend on it."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_positive(self, "off_support_threshold", "tolerance")
        for name in ("llm_learning_rates", "oblr_learning_rates", "paper_learning_rates", "group_learning_rates"):
            rates = getattr(self, name)
            if not rates or any(not (isinstance(r, float) and r > 0) for r in rates):
                raise ConfigError(f"{name} must be a non-empty tuple of positive floats, got {rates!r}")
        if self.min_steps > self.max_steps:
            raise ConfigError(f"min_steps must be at most max_steps={self.max_steps}, got {self.min_steps!r}")
        check_interval(self, "base_test_error", 0.0, 1.0, low_open=True, high_open=True)
        check_interval(self, "lift_level", 0.0, 1.0, low_open=True, high_open=True)


QUICK = LLMFigure1Config(
    sft_max_steps=150,
    max_steps=40,
    min_steps=20,
    tuning_steps=10,
    tuning_seeds=1,
    seeds=2,
    llm_learning_rates=(3e-4, 3e-3),
    oblr_learning_rates=(0.001, 0.003),
    paper_learning_rates=(0.1, 0.3),
    group_learning_rates=(0.1, 0.3),
    eval_every=10,
    test_size=256,
    pretrain_max_steps=500,
)
WRITES = ("llm_figure1.png", "llm_figure1.json", "llm_figure1.md", "llm", "linear")


def tuning_specs(config: LLMFigure1Config, name: str, stack: str, kind: str, run_dir: Path) -> list[jobs.RunSpec]:
    """The learning-rate sweep of one method: every rate x tuning seed, ``tuning_steps`` each. Tuning and reported
    seeds come from streams keyed apart ("tune" / "report"): no reported run is tuned on."""
    return [
        jobs.RunSpec(
            stack, kind, rate, derive_seed(config.seed, "tune", name, index),
            str(run_dir / stack / kind / "tune" / f"lr{rate:g}" / f"seed{index}"), config.tuning_steps, False,
        )
        for rate in jobs.learning_rates(config, stack, kind)
        for index in range(config.tuning_seeds)
    ]


def reported_specs(
    config: LLMFigure1Config, name: str, stack: str, kind: str, rate: float, run_dir: Path
) -> list[jobs.RunSpec]:
    """The reported seeds of one method at its chosen rate, to their settling step or ``max_steps``."""
    return [
        jobs.RunSpec(
            stack, kind, rate, derive_seed(config.seed, "report", name, index),
            str(run_dir / stack / kind / f"seed{index}"), config.max_steps, True,
        )
        for index in range(config.seeds)
    ]


def run_specs(
    config: LLMFigure1Config, bases: dict[str, dict[str, Any]], specs: list[jobs.RunSpec], show_progress: bool,
    description: str,
) -> list[list[dict[str, Any]]]:
    """Every spec's records, in order, in ``config.workers`` processes (each with one torch thread)."""
    inner_progress = show_progress and config.workers == 1
    items = [(config, bases[spec.stack], spec, inner_progress) for spec in specs]
    return run_sweep(
        jobs.run_one, items, workers=config.workers, description=description,
        show_progress=show_progress and config.workers > 1,
    )


def run_figure(config: LLMFigure1Config, run_dir: Path, show_progress: bool = False) -> dict[str, Any]:
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
    bases = {"llm": {"weights": weights, "off": llm_off}, "linear": {"file": str(base_file), "off": linear_off}}
    sweep = {name: tuning_specs(config, name, stack, kind, run_dir) for name, stack, kind in jobs.METHODS}
    flat = [spec for specs in sweep.values() for spec in specs]
    tuned = dict(zip(flat, run_specs(config, bases, flat, show_progress, "tuning runs"), strict=True))
    methods: dict[str, dict[str, Any]] = {}
    for name, _, _ in jobs.METHODS:
        tuning: dict[float, list[list[dict[str, Any]]]] = {}
        for spec in sweep[name]:
            tuning.setdefault(spec.learning_rate, []).append(tuned[spec])
        methods[name] = {
            "rate": analysis.choose_learning_rate(tuning),
            "tuning": {f"{r:g}": [run[-1]["eval/test_error"] for run in seeds] for r, seeds in tuning.items()},
        }
    chosen = {
        name: reported_specs(config, name, stack, kind, methods[name]["rate"], run_dir)
        for name, stack, kind in jobs.METHODS
    }
    flat = [spec for specs in chosen.values() for spec in specs]
    reported = dict(zip(flat, run_specs(config, bases, flat, show_progress, "reported runs"), strict=True))
    for name, _, _ in jobs.METHODS:
        cut = [analysis.until_settled(reported[spec], config.tolerance, config.min_steps) for spec in chosen[name]]
        methods[name]["runs"] = [records for records, _ in cut]
        methods[name]["censored"] = [censored for _, censored in cut]
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
        "tuning": {name: method["tuning"] for name, method in methods.items()},
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
        quick_help="a small setting (two rates, two seeds, short runs) that runs in a few minutes",
        run_dir_help="run folder (default runs/llm_figure1/<setting>-seed<seed>)",
    )
    limit_threads(1)
    run_dir = args.run_dir or Path("runs") / "llm_figure1" / f"{'quick' if args.quick else 'full'}-seed{config.seed}"
    if args.fresh:
        start_fresh(run_dir, "llm_figure1", WRITES)
    mark_experiment_folder(run_dir, "llm_figure1")
    started = time.perf_counter()
    print(f"LLM Figure 1 run folder: {run_dir}", flush=True)
    run_figure(config, run_dir, show_progress=not args.no_progress)
    print((run_dir / "llm_figure1.md").read_text())
    print(f"wrote {run_dir / 'llm_figure1.png'} in {time.perf_counter() - started:.0f} s")
    return run_dir


if __name__ == "__main__":
    main(sys.argv[1:])
