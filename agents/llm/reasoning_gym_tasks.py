"""A seqreward task as a reasoning-gym ``ProceduralDataset``, registered as ``"seqreward"`` on import and scored
by ``score_answer`` (``agents.llm.verifiers_tasks`` offers the same items to verifiers). Items ask the canonical
prompt (``agents.llm.encoding``); a reply's answer tokens are scored against y*.

Scores are in [0, 1], as both libraries expect: the outcome score is 1 when the reply is y* and else 0; the
process score is the share of positions i whose prefix y_1..y_i is y*'s (the process reward's r_i read as
{0, 1}, averaged).

``reasoning_gym.create_curriculum("seqreward")`` gives ``SeqrewardCurriculum``: reasoning-gym's levels over the
hint (y*'s first tokens given in the question), the length N and the margin gamma, the same ladders as the
env-side ``seqreward_env.curriculum.Curriculum`` it converts to (``as_env_curriculum``), so a run that moves
one moves the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from reasoning_gym.coaching import BaseCurriculum, ScalarAttributeDefinition
from reasoning_gym.dataset import ProceduralDataset
from reasoning_gym.factory import CURRICULA, DATASETS, register_dataset

from agents.common.seeding import stream
from agents.llm.encoding import PromptEncoding
from seqreward_env import ENV_IDS, SequenceTask
from seqreward_env.curriculum import Curriculum, hint_prefixes, task_at

SCORES = ("outcome", "process")
INSTRUCTION = "Answer with {n} tokens from {tokens}, separated by spaces.\n"
HINT = "The answer begins with: {tokens}\n"
CURRICULUM_LADDERS: dict[str, tuple[Any, ...]] = {"hint": (2, 1, 0), "seq_len": (3, 4), "margin": (0.08, 0.05, 0.02)}
"""reasoning-gym's levels (easy to hard) for the default Rademacher task: every hint fits every length."""


def task_of(env_id: str, task_seed: int) -> SequenceTask:
    """The task of a registered id."""
    if env_id not in ENV_IDS:
        raise ValueError(f"env_id must be one of {sorted(ENV_IDS)}, got {env_id!r}")
    return gym.make(env_id, task_seed=task_seed).unwrapped.task  # type: ignore[attr-defined]


def prefix_correct(task: SequenceTask, encoding: PromptEncoding, replies: list[str], contexts: Any) -> np.ndarray:
    """``(n, N)`` bool: whether each reply's first i answer tokens are y*'s, for ``(n, d)`` contexts."""
    x = np.asarray(contexts, dtype=np.float32).reshape(-1, task.context_dim)
    answers = encoding.answers_from_text(replies, task.seq_len)
    return np.cumprod(answers == task.targets(x), axis=1).astype(bool)


def reply_score(task: SequenceTask, encoding: PromptEncoding, reply: str | None, context: Any, score: str) -> float:
    """The ``score`` ("outcome" or "process") of one reply in [0, 1]."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    correct = prefix_correct(task, encoding, [reply or ""], context)[0]
    return float(correct[-1]) if score == "outcome" else float(correct.mean())


def question(task: SequenceTask, encoding: PromptEncoding, context: np.ndarray, hint: int = 0) -> str:
    """The prompt of one context: the instruction, y*'s first ``hint`` tokens when given, and the context."""
    tokens = ", ".join(encoding.answer_tokens)
    text = INSTRUCTION.format(n=task.seq_len, tokens=tokens)
    prefix = hint_prefixes(task, context.reshape(1, -1), hint)
    if prefix is not None:
        text += HINT.format(tokens=" ".join(encoding.answer_tokens[token] for token in prefix[0]))
    return text + encoding.prompt_texts(context.reshape(1, -1))[0]


@dataclass
class SeqrewardConfig:
    """reasoning-gym settings: which registered id (and teacher draw), how the answer is scored, and the
    dataset's seed and size."""

    env_id: str = "seqreward/RademacherOutcome-v0"
    task_seed: int = 0
    score: str = "outcome"
    seed: int = 0
    size: int = 500
    hint: int = 0
    """y*'s first ``hint`` tokens given in the question (the reply still writes all N)."""
    seq_len: int | None = None
    """N of the task (None: the registered id's)."""
    margin: float | None = None
    """gamma of the task (None: the registered id's)."""

    def validate(self) -> None:
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id must be one of {sorted(ENV_IDS)}, got {self.env_id!r}")
        length = self.seq_len if self.seq_len is not None else ENV_IDS[self.env_id]["seq_len"]
        if isinstance(self.hint, bool) or not isinstance(self.hint, int) or not 0 <= self.hint < length:
            raise ValueError(f"hint must be an integer in [0, N - 1] = [0, {length - 1}], got {self.hint!r}")
        if self.score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {self.score!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"size must be a positive integer, got {self.size!r}")


class SeqrewardDataset(ProceduralDataset):
    """Item i asks a context drawn from ``stream(seed, "reasoning_gym", i)`` (the task's distribution, margin
    honoured); its answer is y*'s answer tokens, its metadata the exact context and y*."""

    def __init__(self, config: SeqrewardConfig) -> None:
        super().__init__(config=config, seed=config.seed, size=config.size)
        self.task = task_of(config.env_id, config.task_seed)
        if config.seq_len is not None or config.margin is not None:
            self.task = task_at(self.task, {"seq_len": config.seq_len, "margin": config.margin})
        self.encoding = PromptEncoding.for_task(self.task)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        rng = np.random.default_rng(stream(self.config.seed, "reasoning_gym", idx))
        x = self.task.sample_contexts(rng, 1)
        return {
            "question": question(self.task, self.encoding, x[0], self.config.hint),
            "answer": self.encoding.response_texts(self.task.targets(x))[0],
            "metadata": {
                "source_dataset": "seqreward",
                "source_index": idx,
                "context": x[0].tolist(),
                "target": self.task.targets(x)[0].tolist(),
            },
        }

    def score_answer(self, answer: str | None, entry: dict[str, Any]) -> float:
        return reply_score(self.task, self.encoding, answer, entry["metadata"]["context"], self.config.score)


class SeqrewardCurriculum(BaseCurriculum):
    """reasoning-gym's curriculum of the seqreward dataset: one scalar attribute per axis of
    ``CURRICULUM_LADDERS`` (hint, seq_len, margin), moved with ``increment_attr_level`` /
    ``decrement_attr_level`` or globally; ``generate_configuration()`` gives the ``SeqrewardConfig`` of the
    current levels."""

    def __init__(self) -> None:
        super().__init__(name=SeqrewardCurriculum.__name__, config_cls=SeqrewardConfig)
        descriptions = {
            "hint": "y*'s first tokens given in the question (fewer is harder)",
            "seq_len": "the response length N",
            "margin": "the margin gamma every context has (smaller is harder)",
        }
        self._define_attributes(
            *(
                ScalarAttributeDefinition(
                    name=axis, field_name=axis, levels=list(ladder), description=descriptions[axis]
                )
                for axis, ladder in CURRICULUM_LADDERS.items()
            )
        )

    def as_env_curriculum(self) -> Curriculum:
        """The env-side curriculum at the same levels (what the package's learners and envs read)."""
        return Curriculum(CURRICULUM_LADDERS, {axis: self.get_attr_level(axis) for axis in CURRICULUM_LADDERS})


if "seqreward" not in DATASETS:
    register_dataset("seqreward", SeqrewardDataset, SeqrewardConfig, SeqrewardCurriculum)
elif "seqreward" not in CURRICULA:
    CURRICULA["seqreward"] = SeqrewardCurriculum
