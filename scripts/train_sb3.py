"""Train an SB3 or sb3-contrib agent (PPO, A2C, MaskablePPO, RecurrentPPO) on a registered seqreward env.

The run is a job of the ``sb3`` learner (``agents.experiment.jobs.Job``, run by ``run_job``): the native
vector env behind the ``SB3VecEnv`` adapter and SB3's ``VecMonitor``, one SB3 iteration (a rollout of
``n_steps`` on every row, then the update) per step of the project's training loop, the task's exact
metrics (``eval/test_error``, ``eval/likelihood_mean``, ``eval/token_min_probability_mean``,
``eval/greedy_exact_match``) every ``--eval-every`` environment steps, rounded to whole iterations.

Writes to ``--run-dir`` (default ``runs/sb3/<algo>-<env>-<seed>``):
    model.zip        the trained model (``<Algo>.load``)
    metrics.jsonl    one record per logged step: the exact metrics at each evaluation, SB3's losses,
                     ``train/reward_queries`` and ``train/env_steps``
    tb/              TensorBoard events of those records
    sb3/             SB3's own scalars (``rollout/``, ``train/``, ``time/``): TensorBoard events and progress.csv
    config.json      the job; the same folder with other settings is refused, naming the differences
    checkpoint.pt    the state to resume from (network, optimiser, env rows, generators)
    done.json        written last: the run's summary; the same command again prints it without training
    manifest.json    every file the run wrote, with its size and SHA-256 (what --fresh may remove)

An interrupted run resumes from its last checkpoint (taken at every evaluation) and continues exactly as an
uninterrupted run would. ``--fresh`` removes only the files the folder's ``manifest.json`` says a run wrote,
unchanged since (never a file of yours), and refuses while an output it would write again was edited.

Example:
    python -m scripts.train_sb3 --algo ppo --env-id seqreward/Process-v0 --total-timesteps 300000
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import seqreward_env
from agents.common.config_checks import ConfigError, check_choice, check_fields, check_json_object
from agents.experiment.cli import RunFlags, Script, parse_command_line
from agents.experiment.jobs import Evaluation, Job, TaskSpec, run_job
from agents.experiment.settings import check_device, check_rows
from agents.learners.sb3.config import ALGORITHMS, SB3Config
from agents.runs.files import RunFolderError, clear_run_folder
from agents.runs.folder import CHECKPOINT, CONFIG, DONE, METRICS

__all__ = ["QUICK", "TrainSB3Settings", "main", "make_job", "parse_args"]

# The files a new run writes again: --fresh refuses to start over where one of them is not the run's own.
RUN_OUTPUTS = (CONFIG, CHECKPOINT, METRICS, DONE, "model.zip")


@dataclass(frozen=True)
class TrainSB3Settings:
    """Settings of one SB3 run."""

    algo: str = "ppo"
    """'ppo', 'a2c' (stable-baselines3), 'maskable_ppo' or 'recurrent_ppo' (sb3-contrib)."""
    env_id: str = "seqreward/Process-v0"
    """A registered seqreward id."""
    env_kwargs: str = "{}"
    """Task keyword arguments over the id's defaults, as a JSON object, e.g. '{"seq_len": 4}'."""
    algo_kwargs: str = "{}"
    """Keyword arguments of the algorithm over the project's defaults, as a JSON object, e.g. '{"n_steps": 16}'."""
    num_envs: int = 64
    """Rows of the vector env (SB3's n_envs)."""
    total_timesteps: int = 200_000
    """Environment steps, summed over rows (rounded up to whole iterations of n_steps * num_envs)."""
    seed: int = 0
    """The run's seed: SB3's generators, its network and the env rows derive from it."""
    eval_every: int = 20_000
    """Environment steps between exact evaluations and checkpoints (rounded to whole iterations)."""
    test_size: int = 1024
    """Contexts of the task's fixed test set on which the exact metrics are computed."""
    device: str = "cpu"
    """Torch device of the policy ('cpu', 'cuda', 'auto')."""
    threads: int = 1
    """Torch CPU threads (1 is fastest for these small networks)."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_choice(self, "algo", ALGORITHMS)
        check_choice(self, "env_id", seqreward_env.ENV_IDS)
        SB3Config(algo=self.algo, algo_kwargs=self.algo_object(), device=self.device)
        if self.device != "auto":  # SB3's own choice: a GPU where torch sees one
            check_device(self.device)
        try:
            task = TaskSpec(self.env_object(), env_id=self.env_id).build()
        except (TypeError, ValueError) as error:
            raise ConfigError(
                f"env_kwargs (--env-kwargs) do not make a task of {self.env_id}: {error}", "env_kwargs"
            ) from None
        check_rows(task, self.num_envs, "num_envs")

    def env_object(self) -> dict[str, Any]:
        """``env_kwargs`` parsed (a ``ConfigError`` naming the flag unless it is a JSON object)."""
        return check_json_object(self, "env_kwargs")

    def algo_object(self) -> dict[str, Any]:
        """``algo_kwargs`` parsed (a ``ConfigError`` naming the flag unless it is a JSON object)."""
        return check_json_object(self, "algo_kwargs")

    def default_run_dir(self) -> Path:
        return Path("runs") / "sb3" / f"{self.algo}-{self.env_id.split('/')[-1]}-{self.seed}"


QUICK = replace(TrainSB3Settings(), total_timesteps=20_480, eval_every=10_240, test_size=256)


def make_job(settings: TrainSB3Settings, run_dir: Path, *, show_progress: bool = False) -> Job:
    """The ``sb3`` job of the settings, writing to ``run_dir``."""
    return Job(
        learner="sb3",
        config=SB3Config(algo=settings.algo, algo_kwargs=settings.algo_object(), device=settings.device),
        task=TaskSpec(settings.env_object(), env_id=settings.env_id),
        budget=settings.total_timesteps,
        seed=settings.seed,
        run_dir=str(run_dir),
        rows=settings.num_envs,
        evaluation=Evaluation(every=settings.eval_every, test_size=settings.test_size),
        device=settings.device,
        threads=settings.threads,
        show_progress=show_progress,
        description=f"{settings.algo} {settings.env_id}",
    )


SCRIPT = Script(
    "train_sb3",
    __doc__ or "",
    TrainSB3Settings,
    quick=QUICK,
    quick_help="a short run (20,480 environment steps)",
    run_folder="run folder (default runs/sb3/<algo>-<env>-<seed>)",
)


def parse_args(argv: list[str] | None = None) -> tuple[TrainSB3Settings, RunFlags]:
    """The checked settings of a command line and its other flags (``run_dir`` filled in)."""
    settings, flags = parse_command_line(SCRIPT, argv)
    return settings, replace(flags, run_dir=flags.run_dir or settings.default_run_dir())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train (resume, or find finished) the run the command line describes; returns its summary."""
    settings, flags = parse_args(argv)
    run_dir = Path(flags.run_dir)
    try:
        if flags.fresh:  # only a run folder, and only the files its manifest says the run wrote
            kept = clear_run_folder(run_dir, "run", RUN_OUTPUTS)
            if kept:
                print(f"--fresh: kept {len(kept)} files no run wrote (or changed since) in {run_dir}", flush=True)
        print(f"SB3 run folder: {run_dir}", flush=True)
        summary = run_job(make_job(settings, run_dir, show_progress=not flags.no_progress))
    except RunFolderError as error:
        raise SystemExit(f"train_sb3: {error}") from None
    print(
        f"{settings.algo} on {settings.env_id} ({settings.num_envs} envs): {summary['final_env_steps']} steps, "
        f"test error {summary['final_test_error']:.4f}, greedy exact match "
        f"{summary['final_greedy_exact_match']:.3f}, reward queries {summary['reward_queries']}; "
        f"TensorBoard: tensorboard --logdir {run_dir}"
    )
    return summary


if __name__ == "__main__":
    main()
