"""The paper's Figure 1 on the paper's own task: pre-train a base model, then PG with the outcome reward (ORM)
and with the process reward (PRM) from it, over several PG seeds.

"Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (arXiv 2603.06957), section 6:
d = k = 32, N = 128, a mixture of 32 (sigma 0.05); Adagrad lr 0.1; pre-training with batch 256 for 1000
steps; PG with batch 1024 for 4000 steps; test set of 1024 contexts. The task is the teacher and test set
that the official code draws for ``--task-seed`` (``torch.manual_seed``), or a given one.

A single run cannot tell the outcomes apart (under ORM an off-support context's samples essentially
always fail, so its fate follows the noise of the first steps), so the job runs ``--seeds`` PG seeds
and says, per reward, in how many of them each off-support context (a centre or test context whose base
likelihood is below the threshold) ended above 1/2. ``--seeds 1`` gives the paper's single run.

Writes ``figure1.png``, ``figure1.json`` (curves and summary), ``figure1_summary.json`` (the summary
alone) and ``figure1.csv`` in the run folder, with
each stage's run folder (config, metrics, TensorBoard events, checkpoints); the same command resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.analysis.paper_task import load_task_arrays
from agents.common.config_checks import ConfigError, check_choice, check_interval, check_positive
from agents.experiment.cli import Experiment
from agents.experiment.settings import check_task_sizes
from agents.learners.training import OPTIMIZERS
from agents.policy.choice import PolicyChoice, PolicyFields
from agents.runs.folder import RunFolderError
from agents.runs.inputs import read_policy_file
from scripts.common.settings import DeviceSettings, MixtureContexts, PretrainSettings, ResponseLength, SweepSettings
from seqreward_env import SequenceTask

TEACHERS = ("paper", "numpy")
BASE_MODEL_REMEDY = "give a policy file saved for this task (pretrain/final_model.pt of a Figure-1 run)"
# The official code draws the test set in float32 (torch): a smaller noise scale underflows to zero there,
# and the draw's normalisation (noise / its norm) is then 0/0.
PAPER_SIGMA_MIN = 1e-30


@dataclass(frozen=True)
class Figure1Config(PolicyFields, DeviceSettings, PretrainSettings, SweepSettings, MixtureContexts, ResponseLength):
    """Settings of the Figure-1 experiment (defaults: the paper's)."""

    seq_len: int = 128
    vocab_size: int = 32
    context_dim: int = 32
    num_components: int = 32
    teacher: str = "paper"
    """'paper': the teacher and test set the official code draws for task_seed (torch.manual_seed);
    'numpy': the task's own numpy draw from task_seed."""
    task_seed: int = 0
    """Which draw of the task (teacher and test set)."""
    task_file: str | None = None
    """An .npz with teacher_w1 (k, d), teacher_w2 (k, k) and test_contexts (n, d) to use instead."""
    base_model: str | None = None
    """A LinearPolicy file (.pt) to start PG from instead of pre-training one."""
    pretrain_steps: int = 1000
    """Supervised pre-training steps (Adagrad)."""
    pretrain_batch_size: int = 256
    pg_steps: int = 4000
    """PG steps for each reward."""
    batch_size: int = 1024
    """Fresh contexts per PG step."""
    learning_rate: float | None = None
    """Learning rate of pre-training (Adagrad) and of PG; unset: the policy's defaults (pre-training 0.1;
    PG under Adagrad / SGD / Adam: linear 0.1 / 1 / 0.1, mlp 0.1 / 1 / 0.01, transformer 0.01 / 0.1 /
    0.001)."""
    optimizer: str = "adagrad"
    """PG's optimiser: 'adagrad' (the paper's), 'sgd' or 'adam'."""
    test_size: int = 1024
    eval_every: int = 50
    """PG steps between evaluations (test error, tracked likelihoods) and checkpoints."""
    off_support_threshold: float = 1e-12
    """A centre or test context is off-support when its base likelihood is below this."""
    lift_level: float = 0.5
    """An off-support context counts as lifted when its final likelihood exceeds this."""
    seed: int = 0
    """Root seed: pre-training data and every PG seed's contexts and sampling derive from it."""
    seeds: int = 3
    """PG seeds per reward (ORM and PRM of one seed share their contexts: common random numbers)."""

    def check(self) -> None:
        super().check()  # the blocks': types, counts >= 1, seeds, sigma, --device, the task's sizes
        PolicyChoice.of(self)  # vocab_size >= 2, the network's sizes
        check_positive(self, "off_support_threshold")
        check_interval(self, "lift_level", 0.0, 1.0, low_open=True, high_open=True)
        check_choice(self, "teacher", TEACHERS)
        check_choice(self, "optimizer", OPTIMIZERS)
        check_task_sizes(self.task(), self.batch_size, "batch_size")
        check_task_sizes(self.task(), self.pretrain_batch_size, "pretrain_batch_size")
        if self.teacher == "paper" and self.task_file is None and self.sigma < PAPER_SIGMA_MIN:
            raise ConfigError(
                f"sigma (--sigma) must be at least {PAPER_SIGMA_MIN:g} with --teacher paper (the official code "
                f"draws its contexts in float32, where a smaller noise underflows), got {self.sigma!r}",
                "sigma",
            )
        for name in ("task_file", "base_model"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{name} (--{name.replace('_', '-')}) must be an existing file, got {path!r}", name)
        if self.task_file is not None:
            self._check_task_file(self.task_file)
        if self.base_model is not None:
            try:
                read_policy_file(
                    self.base_model, BASE_MODEL_REMEDY, context_dim=self.context_dim, vocab_size=self.vocab_size
                )
            except RunFolderError as error:
                raise ConfigError(f"base_model (--base-model) {error}", "base_model") from None

    def _check_task_file(self, path: str) -> None:
        """The task file's arrays must load, fit the task's shapes and test size, and make a task."""
        try:
            arrays = load_task_arrays(path)
        except ValueError as error:
            raise ConfigError(f"task_file (--task-file): {error}", "task_file") from None
        k, d = self.vocab_size, self.context_dim
        if arrays.teacher_w1.shape != (k, d) or len(arrays.test_contexts) < self.test_size:
            raise ConfigError(
                f"task_file (--task-file) {path!r} holds a teacher of shape {arrays.teacher_w1.shape} and "
                f"{len(arrays.test_contexts)} test contexts; vocab_size={k}, context_dim={d} and "
                f"test_size={self.test_size} need ({k}, {d}) and at least {self.test_size}",
                "task_file",
            )
        try:
            SequenceTask(
                **self.task(teacher=(arrays.teacher_w1, arrays.teacher_w2)),
                test_set=arrays.test_contexts[: self.test_size],
            )
        except ValueError as error:
            problem = str(error).split(", got array(")[0]  # the arrays' text would bury the one line
            largest = float(abs(arrays.test_contexts[: self.test_size]).max())
            raise ConfigError(
                f"task_file (--task-file) {path!r}: {problem} (its largest test-context entry is {largest:g})",
                "task_file",
            ) from None


QUICK = Figure1Config(
    seq_len=12,
    vocab_size=8,
    context_dim=8,
    num_components=8,
    pretrain_steps=60,
    pretrain_batch_size=64,
    pg_steps=150,
    batch_size=128,
    test_size=256,
    eval_every=10,
)


EXPERIMENT = Experiment(
    "figure1",
    Figure1Config,
    QUICK,
    ("figure1.png", "figure1_summary.json", "figure1.csv"),
    ("task.npz", "pretrain", "pg"),
    quick_help="a small setting that runs in well under a minute",
    run_dir_name="{setting}-task{task_seed}-seed{seed}",
    full_setting="paper",
    summary_file=False,
)
