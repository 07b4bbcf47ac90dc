"""Dynamic sampling and a hint curriculum for TRL's GRPOTrainer, added without glue.

Why these shapes (TRL 1.16's GRPOTrainer): prompts reach the trainer through its ``RepeatSampler`` over the
train dataset, and rewards exist only inside ``_generate_and_score_completions``.

- **Dynamic sampling** (DAPO, arXiv 2503.14476) must see the rewards of a group before it decides to replace
  it, so no sampler or callback can do it: ``DynamicSamplingGRPOTrainer`` is GRPOTrainer with one more option,
  ``max_refill_batches``. After a batch is generated and scored, groups whose rewards are all equal (zero
  group-relative advantage) are replaced by informative groups of fresh prompts, generated and scored by
  GRPOTrainer's own ``_generate_and_score_completions``, up to ``max_refill_batches`` extra batches (verl's
  ``max_num_gen_batches``). The task's reward functions count every completion they score, so the queries of
  dropped groups are in ``reward_queries``.
- **The curriculum** changes what is asked, not how it is optimised: ``curriculum_prompt_dataset`` is a
  ``datasets.Dataset`` whose prompt is rendered when read (``set_transform``) with y*'s first ``hint`` tokens
  at the curriculum's current level, and ``CurriculumCallback`` (a ``TrainerCallback``) moves the level after
  each step from the task reward's own record of the step (the running success rate, or a fixed schedule),
  writes each move into the trainer's ``log_history`` and its state into every checkpoint folder
  (``curriculum_state.json``; ``load_checkpoint`` restores it before ``trainer.train(resume_from_checkpoint=...)``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from transformers import TrainerCallback
from trl import GRPOTrainer

from agents.common.seeding import stream
from agents.learners.difficulty import CurriculumSchedule, DifficultyConfig
from agents.llm.data import training_contexts
from agents.llm.encoding import PromptEncoding
from agents.llm.rewards import TaskReward
from agents.rules.difficulty import informative_groups
from seqreward_env import SequenceTask
from seqreward_env.curriculum import hint_prefixes

STATE_FILE = "curriculum_state.json"


class CurriculumCallback(TrainerCallback):
    """Moves a hint curriculum after every optimisation step of a TRL trainer.

    Args:
        config: a ``DifficultyConfig`` with ``curriculum`` 'fixed' or 'adaptive' on the 'hint' axis.
        reward: the task reward among the trainer's ``reward_funcs``; its last call's per-position rewards say
            which completions were right (the last position's reward is the task's ``high``).
    """

    def __init__(self, config: DifficultyConfig, reward: TaskReward) -> None:
        curriculum = config.make_curriculum()
        if curriculum is None or config.curriculum_axis != "hint":
            raise ValueError(
                f"CurriculumCallback needs a 'fixed' or 'adaptive' curriculum on the 'hint' axis, got "
                f"curriculum={config.curriculum!r}, curriculum_axis={config.curriculum_axis!r}"
            )
        if not isinstance(reward, TaskReward):
            raise ValueError(f"reward must be an agents.llm TaskReward, got {reward!r}")
        curriculum.check_task(reward.task)
        self.config, self.reward = config, reward
        self.schedule = CurriculumSchedule(config, curriculum)
        self.last_metrics: dict[str, Any] = {}

    @property
    def hint(self) -> int:
        """The hint of the level in force (what the prompts are rendered with)."""
        return int(self.schedule.curriculum.settings()["hint"])

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        rewards = np.asarray(self.reward.last_token_rewards)
        if rewards.size:
            success = float(np.mean(rewards[:, -1] == self.reward.task.reward_high))
            self.last_metrics = self.schedule.update(success)
            if self.last_metrics["curriculum/moved"]:
                state.log_history.append({"step": state.global_step, **self.last_metrics})
        return control

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / STATE_FILE).write_text(json.dumps(self.schedule.state_dict()))
        return control

    def load_checkpoint(self, checkpoint: str | Path) -> None:
        """Restore the level and running success rate saved in a checkpoint folder."""
        self.schedule.load_state_dict(json.loads((Path(checkpoint) / STATE_FILE).read_text()))


def curriculum_prompt_dataset(
    task: SequenceTask, encoding: PromptEncoding, num_prompts: int, callback: CurriculumCallback, seed: int = 0
) -> Dataset:
    """``num_prompts`` training prompts (``agents.llm.data.training_contexts``) whose ``prompt`` is rendered when
    read: the context's tokens followed by y*'s first ``callback.hint`` answer tokens at the level then in force.
    Columns ``prompt``, ``context``, ``target``."""
    contexts = training_contexts(task, num_prompts, seed)
    data = Dataset.from_dict({"context": contexts.tolist(), "target": task.targets(contexts).tolist()})
    names = np.asarray(encoding.answer_tokens)

    def render(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        x = np.asarray(batch["context"], dtype=np.float32).reshape(-1, task.context_dim)
        prompts = encoding.prompt_texts(x)
        prefixes = hint_prefixes(task, x, callback.hint)
        if prefixes is not None:
            prompts = [f"{prompt} {' '.join(names[row])}" for prompt, row in zip(prompts, prefixes, strict=True)]
        return {**batch, "prompt": prompts}

    data.set_transform(render)
    return data


class DynamicSamplingGRPOTrainer(GRPOTrainer):
    """GRPOTrainer with DAPO's dynamic sampling: ``max_refill_batches`` (>= 0) extra batches at most per
    generation replace the groups whose rewards are all equal. Fresh prompts are drawn from the train dataset
    with the stream ``stream(args.seed, "dynamic sampling", i)`` for the i-th refill. Batches are merged row by
    row, so prompts and completions must have one padded length (the task's prompts and fixed-length answers
    do). ``dropped_groups`` and ``refill_batches`` count what was spent; the reward functions count the queries."""

    def __init__(self, *args: Any, max_refill_batches: int = 4, **kwargs: Any) -> None:
        if isinstance(max_refill_batches, bool) or not isinstance(max_refill_batches, int) or max_refill_batches < 0:
            raise ValueError(f"max_refill_batches must be an integer >= 0, got {max_refill_batches!r}")
        super().__init__(*args, **kwargs)
        self.max_refill_batches = max_refill_batches
        self.dropped_groups = 0
        self.refill_batches = 0

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)
        model: Any = self.model
        if not model.training or self.max_refill_batches == 0:
            return output
        group = int(self.num_generations or 1)
        keep = self._informative(output, group)
        self.dropped_groups += int((~keep).sum())
        for _ in range(self.max_refill_batches):
            if bool(keep.all()):
                break
            fresh = self._generate_and_score_completions_of(self._fresh_inputs(len(inputs) // group, group))
            fresh_keep = self._informative(fresh, group)
            self.dropped_groups += int((~fresh_keep).sum())
            holes = (~keep).nonzero(as_tuple=True)[0][: int(fresh_keep.sum())]
            donors = fresh_keep.nonzero(as_tuple=True)[0][: len(holes)]
            _replace_groups(output, fresh, holes, donors, group)
            keep[holes] = True
        self._metrics["train"]["dynamic_sampling/dropped_groups"].append(float(self.dropped_groups))
        self._metrics["train"]["dynamic_sampling/refill_batches"].append(float(self.refill_batches))
        return output

    def _generate_and_score_completions_of(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        self.refill_batches += 1
        return super()._generate_and_score_completions(inputs)

    def _fresh_inputs(self, prompts: int, group: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng(stream(self.args.seed, "dynamic sampling", self.refill_batches))
        data: Any = self.train_dataset  # a map-style dataset: TRL's RepeatSampler indexes it too
        rows = rng.choice(len(data), size=prompts, replace=len(data) < prompts)
        return [data[int(row)] for row in rows for _ in range(group)]

    @staticmethod
    def _informative(output: dict[str, Any], group: int) -> torch.Tensor:
        """``(B,)`` bool: groups whose advantages are not all equal (all equal rewards give all-zero ones)."""
        advantages = output["advantages"]
        per_row = advantages if advantages.dim() == 1 else advantages.sum(dim=1)
        return informative_groups(per_row.view(-1, group).cpu())


def _replace_groups(
    output: dict[str, Any], fresh: dict[str, Any], holes: torch.Tensor, donors: torch.Tensor, group: int
) -> None:
    """Write groups ``donors`` of ``fresh`` over groups ``holes`` of ``output`` (rows ``g * group ...``), key by key
    for every per-row tensor; a padded width that differs is refused."""
    if len(holes) == 0:
        return
    rows_out = (holes.unsqueeze(1) * group + torch.arange(group)).reshape(-1)
    rows_in = (donors.unsqueeze(1) * group + torch.arange(group)).reshape(-1)
    size = next(value.shape[0] for value in output.values() if isinstance(value, torch.Tensor) and value.dim() > 0)
    for key, value in output.items():
        if not isinstance(value, torch.Tensor) or value.dim() == 0 or value.shape[0] != size:
            continue
        other = fresh[key]
        if other.shape[1:] != value.shape[1:]:
            raise ValueError(
                f"dynamic sampling merges batches of one padded shape; {key!r} has {tuple(value.shape)} and a "
                f"fresh batch {tuple(other.shape)} (give prompts and completions of fixed length)"
            )
        value[rows_out.to(value.device)] = other[rows_in.to(other.device)]
