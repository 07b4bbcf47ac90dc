"""The pass@k experiment's jobs: per (draw, N, pre-training length, policy) the base model's pre-training, per
(learner, ..., seed) its run from that base model, and the pass@k curves read back from the models the runs
kept (the base model's file, ``models/step<n>.pt`` at the checkpoints, ``final_model.pt``) or, for SB3's PPO,
which trains its own network, from the evaluations it logged."""

from __future__ import annotations

import math
from functools import reduce
from pathlib import Path
from typing import Any

from agents.common.seeding import derive_seed
from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, TaskSpec, model_file
from agents.experiment.settings import task_keywords
from agents.learners.best_of_m import BestOfMConfig
from agents.learners.group_pg import GroupPGConfig
from agents.learners.paper_pg import PaperPGConfig
from agents.learners.pretrain import PretrainConfig
from agents.learners.process_repair import ProcessRepairConfig
from agents.learners.sb3.config import SB3Config
from agents.policy.choice import PolicyChoice, load_policy
from agents.policy.coverage import coverage_metrics
from agents.policy.evaluation import PolicyEvaluator, greedy_exact_match
from agents.runs.folder import read_metrics, without_seal
from scripts.pass_at_k.settings import GROUP_METHODS, PassAtKConfig, Setting

ENV_IDS = {"outcome": "seqreward/Outcome-v0", "process": "seqreward/Process-v0"}
REWARD_OF = {"orm": "outcome", "prm": "process", "best_of_m": "outcome", "process_repair": "process", "ppo": "outcome"}
PAPER_REWARDS = (-1.0, 1.0)  # the paper's PG runs with rewards +-1 (arXiv 2603.06957, section 6)

BaseKey = tuple[int, int, int, str]
"""(draw, N, pre-training steps, policy) of a base model."""
RunKey = tuple[str, int, int, int, str, int]
"""(learner, draw, N, pre-training steps, policy, seed) of a run."""


def task_seed(config: PassAtKConfig, draw: int) -> int:
    """The task seed of draw ``draw`` (its teacher and test set)."""
    return derive_seed(config.task_seed, "draw", draw)


def task_spec(
    config: PassAtKConfig, draw: int, seq_len: int, reward: str | None = None, paper: bool = False
) -> TaskSpec:
    """Draw ``draw``'s task at N = ``seq_len`` (the teacher depends on the draw only), with ``reward``."""
    keywords = task_keywords(config, seq_len=seq_len, task_seed=task_seed(config, draw))
    if paper:
        keywords["reward_values"] = PAPER_REWARDS
    return TaskSpec(keywords, env_id=None if reward is None else ENV_IDS[reward])


def policy_choice(config: PassAtKConfig, name: str) -> PolicyChoice:
    return PolicyChoice(name, config.hidden, config.layers, config.heads)


def evaluation(config: PassAtKConfig, every: int, keep_models: bool = False) -> Evaluation:
    return Evaluation(
        every=max(1, every),
        test_size=config.test_size,
        keep_models=keep_models,
        pass_at_k=config.ks,
        cover_taus=config.taus,
        log_every=max(1, every),
    )


def base_keys(config: PassAtKConfig, grid: list[Setting]) -> list[BaseKey]:
    """Every base model the grid needs, once."""
    keys = {
        (draw, s.seq_len, s.pretrain_steps, s.policy)
        for s in grid
        if s.learner != "ppo"
        for draw in range(config.draws)
    }
    return sorted(keys, key=lambda key: (key[0], key[1], key[2], key[3]))


def pretrain_job(config: PassAtKConfig, run_dir: Path, key: BaseKey) -> Job:
    """Supervised pre-training of the base model of ``key`` (Adagrad on (x, y*) from a fresh policy)."""
    draw, seq_len, steps, policy = key
    return Job(
        learner="pretrain",
        config=PretrainConfig(batch_size=config.pretrain_batch_size),
        task=task_spec(config, draw, seq_len),
        budget=steps,
        seed=derive_seed(config.seed, "pretrain", draw),
        run_dir=str(run_dir / "runs" / "pretrain" / f"draw{draw}" / f"N{seq_len}" / f"steps{steps}" / policy),
        policy=policy_choice(config, policy),
        policy_seed=derive_seed(config.seed, "initial weights", draw),
        evaluation=evaluation(config, steps),
        device=config.device,
        description=f"pre-train draw {draw} N={seq_len}",
    )


def run_keys(config: PassAtKConfig, grid: list[Setting]) -> list[RunKey]:
    """Every run the grid needs, once (the length settings read the main ORM and PRM runs)."""
    keys = {
        (s.learner, draw, s.seq_len, s.pretrain_steps, s.policy, seed)
        for s in grid
        for draw in range(config.draws)
        for seed in range(config.seeds)
    }
    return sorted(keys, key=lambda key: (key[1], key[5], key[0], key[2], key[3], key[4]))


def is_main(config: PassAtKConfig, key: RunKey) -> bool:
    """Whether a run is at the main N, base model and policy (then ORM and PRM run long, keeping models)."""
    return key[2:5] == (config.seq_len, config.pretrain_steps, config.policy)


def longest(config: PassAtKConfig) -> int:
    return config.long_factor * max(config.checkpoints)


def run_job_of(config: PassAtKConfig, run_dir: Path, key: RunKey, base_model: str) -> Job:
    """The run of ``key`` from ``base_model``. Every learner makes ``steps`` updates of ``batch_size``
    responses (Algorithms 1 and 2: ``theory_rows`` contexts, one on-policy response each, plus their tries;
    PPO: ``ppo_env_steps`` tokens); the main ORM and PRM runs go on to the longest step, keeping their
    models at every multiple of the checkpoints' greatest common divisor."""
    learner, draw, seq_len, pretrain, policy, seed = key
    folder = str(
        run_dir / "runs" / learner / f"draw{draw}" / f"N{seq_len}" / f"pretrain{pretrain}" / policy / f"seed{seed}"
    )
    common: dict[str, Any] = {
        "seed": derive_seed(config.seed, "run", draw, seed),  # every learner of a (draw, seed) sees the same streams
        "run_dir": folder,
        "device": config.device,
        "description": f"{learner} draw {draw} seed {seed}",
    }
    if learner == "ppo":
        algo = {"n_steps": 64, "batch_size": min(512, 64 * config.ppo_num_envs)}
        return Job(
            learner="sb3",
            config=SB3Config(algo="ppo", algo_kwargs=algo, device=config.device),
            task=task_spec(config, draw, seq_len, "outcome"),
            budget=config.ppo_env_steps,
            rows=config.ppo_num_envs,
            evaluation=evaluation(config, config.ppo_env_steps),
            **common,
        )
    shared: dict[str, Any] = {"base_model": base_model, **common}
    if learner in ("orm", "prm"):
        long = is_main(config, key)
        every = reduce(math.gcd, [step for step in config.checkpoints if step > 0], 0) if long else config.steps
        return Job(
            learner="paper_pg",
            config=PaperPGConfig(),
            task=task_spec(config, draw, seq_len, REWARD_OF[learner], paper=True),
            budget=longest(config) if long else config.steps,
            rows=config.batch_size,
            evaluation=evaluation(config, every, keep_models=long),
            **shared,
        )
    if learner in GROUP_METHODS:
        return Job(
            learner="group_pg",
            config=GroupPGConfig(
                method=learner, num_contexts=config.batch_size // config.group_size, group_size=config.group_size
            ),
            task=task_spec(config, draw, seq_len, "outcome"),
            budget=config.steps,
            evaluation=evaluation(config, config.steps),
            **shared,
        )
    exploration = BestOfMConfig if learner == "best_of_m" else ProcessRepairConfig
    return Job(
        learner=learner,
        config=exploration(tries=config.tries),
        task=task_spec(config, draw, seq_len, REWARD_OF[learner]),
        budget=config.steps,
        rows=config.theory_rows,
        evaluation=evaluation(config, config.steps),
        **shared,
    )


def model_at(job: Job, step: int) -> Path:
    """The model of ``job`` at ``step``: its kept model there, else (at its end) its final model."""
    kept = model_file(job.run_dir, step)
    return kept if kept.exists() else Path(job.run_dir) / FINAL_MODEL


def model_measures(config: PassAtKConfig, job: Job, path: str | Path) -> dict[str, Any]:
    """Exact pass@k (at ``config.ks``), Cover@tau and greedy exact match of the model in ``path`` on the test
    set of ``job``'s task: ``{"pass_at_k": (K,), "cover": (T,), "greedy_exact_match"}``."""
    task = job.task.build()
    evaluator = PolicyEvaluator(task, config.test_size, pass_at_k=config.ks, cover_taus=config.taus)
    policy = load_policy(path, device=config.device)
    measures = coverage_metrics(evaluator.token_log_probs(policy).sum(axis=1), config.ks, config.taus)
    return {
        "pass_at_k": [measures[f"eval/pass@{k}"] for k in config.ks],
        "cover": [measures[f"eval/cover@{tau:g}"] for tau in config.taus],
        "greedy_exact_match": greedy_exact_match(policy, evaluator.test_contexts, evaluator.test_targets),
    }


def logged_measures(config: PassAtKConfig, record: dict[str, Any]) -> dict[str, Any]:
    """The same measures from an evaluation a run logged (``eval/pass@k`` at ``config.ks``, ...)."""
    return {
        "pass_at_k": [float(record[f"eval/pass@{k}"]) for k in config.ks],
        "cover": [float(record[f"eval/cover@{tau:g}"]) for tau in config.taus],
        "greedy_exact_match": float(record["eval/greedy_exact_match"]),
    }


def setting_runs(
    config: PassAtKConfig, setting: Setting, jobs: dict[RunKey, Job], bases: dict[BaseKey, Job]
) -> list[dict[str, Any]]:
    """Per (draw, seed) of ``setting``: the base model's and the trained model's measures. PPO's base is its
    own network at step 0 (it does not start from the pre-trained model), read from its logged evaluations."""
    runs = []
    for draw in range(config.draws):
        base_cache: dict[str, Any] | None = None
        for seed in range(config.seeds):
            key = (setting.learner, draw, setting.seq_len, setting.pretrain_steps, setting.policy, seed)
            job = jobs[key]
            if setting.learner == "ppo":
                records = [r for r in read_metrics(job.run_dir) if "eval/test_error" in r]
                base, trained = logged_measures(config, records[0]), logged_measures(config, records[-1])
            else:
                if base_cache is None:
                    base_job = bases[draw, setting.seq_len, setting.pretrain_steps, setting.policy]
                    base_cache = model_measures(config, job, Path(base_job.run_dir) / FINAL_MODEL)
                base = base_cache
                trained = model_measures(config, job, model_at(job, setting.step))
            # the collapse guard's verdict on the whole run (agents.analysis.collapse): ended worse than its
            # start, or deterministic on wrong tokens
            collapsed = bool(without_seal(Path(job.run_dir) / "done.json").get("collapsed"))
            runs.append({"draw": draw, "seed": seed, "base": base, "trained": trained, "collapsed": collapsed})
    return runs
