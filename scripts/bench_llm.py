"""Benchmarks of the TRL bridge: the step time of a TRL trainer with one torch thread against two, and the cost of
OBLR-PO's per-completion scores (``OBLRPOTrainer`` against ``TaskGRPOTrainer`` on the same batches) for tiny
Llama sizes. Each measurement trains ``--steps`` steps of 8 prompts x 8 completions on
``seqreward/RademacherOutcome-v0`` and prints milliseconds per step and the ratio to its reference, measured in
the same run: wall-clock time, and the process's CPU time (``time.process_time``, with one thread the work done,
which other load on the machine does not inflate).

    python -m scripts.bench_llm --measure threads --steps 20
    python -m scripts.bench_llm --measure oblr --steps 10
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from agents.common.config_checks import check_choice
from agents.experiment.cli import Script, parse_command_line
from scripts.common.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SIZES = ((32, 2), (64, 4), (128, 4))  # (hidden size, layers) of the tiny Llama
MEASURES = ("threads", "oblr")


def step_time(
    trainer_name: str, hidden_size: int, num_layers: int, steps: int, threads: int
) -> tuple[float, float, int]:
    """Wall-clock and CPU milliseconds per optimiser step of ``trainer_name`` ("grpo", "prm" or "oblr_po"), and the
    model's trainable parameters, with ``threads`` torch threads."""
    import gymnasium as gym
    import torch

    import seqreward_env  # noqa: F401  (registers the ids)
    from agents.llm import (
        OBLRPOTrainer,
        ProcessGRPOTrainer,
        PromptEncoding,
        TaskGRPOTrainer,
        make_tokenizer,
        oblr_po_config,
        outcome_reward_func,
        process_reward_func,
        prompt_dataset,
        task_grpo_config,
        tiny_causal_lm,
    )

    torch.set_num_threads(threads)
    task = gym.make("seqreward/RademacherOutcome-v0").unwrapped.task  # type: ignore[attr-defined]
    encoding = PromptEncoding.for_task(task)
    model = tiny_causal_lm(encoding, seed=0, hidden_size=hidden_size, num_layers=num_layers)
    reward = (process_reward_func if trainer_name == "prm" else outcome_reward_func)(task, encoding)
    settings = {
        "per_device_train_batch_size": 64,
        "num_generations": 8,
        "max_steps": steps,
        "learning_rate": 1e-3,
        "use_cpu": True,
        "seed": 0,
        "logging_steps": steps,
    }
    with TemporaryDirectory() as folder:
        make_config = oblr_po_config if trainer_name == "oblr_po" else task_grpo_config
        trainer_class = {"grpo": TaskGRPOTrainer, "prm": ProcessGRPOTrainer, "oblr_po": OBLRPOTrainer}[trainer_name]
        trainer = trainer_class(
            model=model,
            reward_funcs=[reward],
            args=make_config(task.seq_len, folder, **settings),
            train_dataset=prompt_dataset(task, encoding, 8 * steps),
            processing_class=make_tokenizer(encoding),
            show_progress=False,
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        trainer.train()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return 1000 * elapsed / steps, 1000 * cpu / steps, sum(p.numel() for p in model.parameters() if p.requires_grad)


def in_fresh_process(trainer_name: str, hidden_size: int, num_layers: int, threads: int, steps: int) -> list[str]:
    """One measurement in its own interpreter (torch's thread pool is set once per process): wall ms, CPU ms and
    parameters of ``step_time``."""
    code = (
        "from scripts.bench_llm import step_time; "
        f"print(*step_time({trainer_name!r}, {hidden_size}, {num_layers}, {steps}, {threads}))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip().splitlines()[-1].split()


@dataclass(frozen=True)
class BenchLLMSettings(Settings):
    """Settings of the TRL bridge's benchmark."""

    measure: str = "threads"
    """'threads': a ProcessGRPOTrainer step with one torch thread against two (twice); 'oblr': OBLRPOTrainer
    against TaskGRPOTrainer for three tiny Llama sizes."""
    steps: int = 10
    """Optimiser steps per measurement."""

    def check(self) -> None:
        super().check()  # steps >= 1
        check_choice(self, "measure", MEASURES)


SCRIPT = Script("bench_llm", __doc__ or "", BenchLLMSettings)


def threads(steps: int) -> None:
    """Print a ProcessGRPOTrainer step's wall time with one torch thread and with two, twice."""
    for repeat in range(2):
        one = float(in_fresh_process("prm", 32, 2, 1, steps)[0])
        two = float(in_fresh_process("prm", 32, 2, 2, steps)[0])
        print(
            f"repeat {repeat}: ProcessGRPOTrainer step, hidden 32: 1 thread {one:.0f} ms, "
            f"2 threads {two:.0f} ms, ratio {two / one:.1f}",
            flush=True,
        )


def oblr_cost(steps: int) -> None:
    """Print OBLRPOTrainer's step time against TaskGRPOTrainer's, wall and CPU, for each size in ``SIZES``."""
    for hidden, layers in SIZES:
        grpo = in_fresh_process("grpo", hidden, layers, 1, steps)
        oblr = in_fresh_process("oblr_po", hidden, layers, 1, steps)
        print(
            f"hidden {hidden}, {layers} layers, {grpo[2]} parameters: wall GRPO {float(grpo[0]):.0f} ms/step, "
            f"OBLR-PO {float(oblr[0]):.0f} (ratio {float(oblr[0]) / float(grpo[0]):.1f}); CPU GRPO "
            f"{float(grpo[1]):.0f}, OBLR-PO {float(oblr[1]):.0f} (ratio {float(oblr[1]) / float(grpo[1]):.1f})",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    settings = parse_command_line(SCRIPT, argv)[0]
    if settings.measure == "threads":
        threads(settings.steps)
    else:
        oblr_cost(settings.steps)


if __name__ == "__main__":
    main()
