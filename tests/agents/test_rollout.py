"""Rollouts through the vector env: kept probabilities, reward accounting, prefixes, reproducibility."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import seqreward_env  # noqa: F401
from agents.policy.linear import LinearPolicy
from agents.policy.rollout import _queries_and_success, rollout, sample_tokens


def make_policy(task, seed: int = 0) -> LinearPolicy:
    generator = torch.Generator().manual_seed(seed)
    policy = LinearPolicy.for_task(task)
    policy.w1.data = torch.randn(policy.w1.shape, generator=generator)
    policy.w2.data = torch.randn(policy.w2.shape, generator=generator)
    return policy


@pytest.mark.parametrize("env_id", ["seqreward/Outcome-v0", "seqreward/Process-v0"])
def test_rollout_keeps_policy_probabilities_and_env_rewards(env_id: str) -> None:
    envs = gym.make_vec(env_id, num_envs=16, copy=False)
    task = envs.unwrapped.task
    policy = make_policy(task)
    batch = rollout(envs, policy, torch.Generator().manual_seed(1), seed=3)
    torch.testing.assert_close(batch.probs, policy.token_probs(batch.contexts, batch.tokens))
    assert batch.generated.all()
    # rewards recomputed from the task's ground truth
    targets = torch.as_tensor(task.targets(batch.contexts.numpy()))
    prefix_right = torch.cumprod((batch.tokens == targets).int(), dim=1).bool()
    if task.reward == "process":
        torch.testing.assert_close(batch.rewards, prefix_right.float())
        assert batch.reward_queries == 16 * task.seq_len
    else:
        torch.testing.assert_close(batch.rewards[:, -1], prefix_right[:, -1].float())
        assert (batch.rewards[:, :-1] == 0).all()
        assert batch.reward_queries == 16
    assert batch.reward_queries == envs.unwrapped.total_reward_queries
    torch.testing.assert_close(batch.success, prefix_right[:, -1])


def test_same_seed_same_rollout_and_fresh_contexts_afterwards() -> None:
    def run(seed: int):
        envs = gym.make_vec("seqreward/Process-v0", num_envs=8)
        policy = make_policy(envs.unwrapped.task)
        generator = torch.Generator().manual_seed(seed)
        return rollout(envs, policy, generator, seed=seed), rollout(envs, policy, generator)

    (first_a, second_a), (first_b, _) = run(5), run(5)
    torch.testing.assert_close(first_a.tokens, first_b.tokens)
    torch.testing.assert_close(first_a.contexts, first_b.contexts)
    assert not torch.equal(first_a.contexts, second_a.contexts)


def test_given_contexts_and_prefixes() -> None:
    envs = gym.make_vec("seqreward/Process-v0", num_envs=3, copy=False)
    task = envs.unwrapped.task
    policy = make_policy(task)
    x = task.test_contexts(3)
    targets = task.targets(x)
    prefixes = [targets[0, :2], np.array([], dtype=np.int64), targets[2, :4]]
    batch = rollout(envs, policy, torch.Generator().manual_seed(0), contexts=x, prefixes=prefixes, max_steps=1)
    assert batch.reward_queries == 3  # one process query per row, the prefixes are free
    written = batch.generated.nonzero().tolist()
    assert written == [[0, 2], [1, 0], [2, 4]]
    torch.testing.assert_close(batch.contexts, torch.as_tensor(x))
    np.testing.assert_array_equal(batch.tokens[0, :2].numpy(), targets[0, :2])
    with pytest.raises(ValueError, match="max_steps"):
        rollout(envs, policy, torch.Generator(), contexts=x, prefixes=prefixes)


def test_uniform_prefix_rollout_writes_the_rest() -> None:
    envs = gym.make_vec("seqreward/Outcome-v0", num_envs=4)
    task = envs.unwrapped.task
    policy = make_policy(task)
    batch = rollout(envs, policy, torch.Generator().manual_seed(0), prefixes=np.array([1, 2]))
    assert (batch.tokens[:, :2] == torch.tensor([1, 2])).all()
    assert not batch.generated[:, :2].any() and batch.generated[:, 2:].all()
    assert (batch.probs[:, :2] == 0).all()
    torch.testing.assert_close(batch.probs[:, 2:], policy.token_probs(batch.contexts, batch.tokens)[:, 2:])


def test_sample_tokens_follows_the_probabilities() -> None:
    probs = torch.tensor([[0.1, 0.0, 0.6, 0.3]]).expand(20000, -1)
    tokens = sample_tokens(probs, torch.rand(20000, 1, generator=torch.Generator().manual_seed(0)))
    frequencies = torch.bincount(tokens, minlength=4).float() / 20000
    torch.testing.assert_close(frequencies, probs[0], atol=0.015, rtol=0)
    assert frequencies[1] == 0


def test_rollout_tokens_follow_the_policy_through_its_transition_table() -> None:
    """Empirical first-token and token-after-token frequencies of many rows of one context match the
    policy's probabilities (the table path samples by looking CDF rows up)."""
    envs = gym.make_vec("seqreward/Outcome-v0", num_envs=8192, seq_len=3)
    task = envs.unwrapped.task
    policy = make_policy(task, seed=3)
    context = task.test_contexts(1)
    batch = rollout(envs, policy, torch.Generator().manual_seed(1), contexts=np.repeat(context, 8192, axis=0))
    assert batch.table is not None
    table = batch.table[0]  # every row shares the context, hence the table
    k = task.vocab_size
    first = torch.bincount(batch.tokens[:, 0], minlength=k).float() / 8192
    torch.testing.assert_close(first, table[k], atol=0.02, rtol=0)
    for previous in range(k):
        after = batch.tokens[:, 2][batch.tokens[:, 1] == previous]
        if len(after) > 500:
            frequencies = torch.bincount(after, minlength=k).float() / len(after)
            torch.testing.assert_close(frequencies, table[previous], atol=0.05, rtol=0)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "torch"])
def test_the_table_sampler_never_draws_a_token_of_probability_zero(compiled: bool) -> None:
    from agents.policy.rollout import _sample_from_table, _sample_from_table_torch

    sampler = _sample_from_table if compiled else _sample_from_table_torch
    k = 3
    # Row 0: the last token has probability 0 and the others sum to just below 1 in float32; a uniform
    # above their sum used to fall through to the last token. Row 1: zeros first and in the middle.
    start = torch.tensor([[0.5, 0.4999999, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float32)
    table = torch.full((2, k + 1, k), 1.0 / k)
    table[:, k] = start
    table[:, :k] = start.unsqueeze(1)  # every row of the table: the same distribution
    largest_below_one = torch.tensor(1.0 - 2.0**-24, dtype=torch.float32)
    assert float(start[0].cumsum(0)[1]) < float(largest_below_one)  # the case that went wrong
    uniforms = torch.stack(
        [torch.tensor([0.0, 0.0]), largest_below_one.repeat(2), torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.3])]
    ).unsqueeze(-1)
    planned = sampler(table, None, uniforms)
    assert planned.shape == (4, 2)
    assert set(planned[:, 0].tolist()) <= {0, 1} and planned[1, 0] == 1
    assert planned[:, 1].tolist() == [1, 1, 1, 1]


def test_the_compiled_table_sampler_draws_the_torch_samplers_tokens() -> None:
    """The same tokens, uniform by uniform, on tables with sharp rows (exact zeros from underflow included)
    and from a given previous token."""
    from agents.policy.rollout import _sample_from_table, _sample_from_table_torch

    generator = torch.Generator().manual_seed(3)
    policy = LinearPolicy(6, 5)
    policy.w1.data.normal_(generator=generator)
    policy.w2.data.normal_(generator=generator)
    contexts = torch.randn(300, 6, generator=generator)
    contexts[:100] *= 40.0  # softmax underflows to exact zeros in these rows
    table = policy.transition_table(policy.begin(contexts))
    assert bool((table == 0).any()) and bool((table > 0.1).any())
    uniforms = torch.rand(50, 300, 1, generator=generator)
    previous = torch.randint(0, 5, (300,), generator=generator)
    for start in (None, previous):
        tokens = torch.full((300, 53), -1)
        compiled = _sample_from_table(table, start, uniforms, tokens, 2)
        reference = _sample_from_table_torch(table, start, uniforms)
        np.testing.assert_array_equal(compiled, reference)
        assert len(np.unique(compiled)) == 5
        np.testing.assert_array_equal(tokens[:, 2:52].numpy(), reference.T)  # the responses, row by row
        assert bool((tokens[:, [0, 1, 52]] == -1).all())


def test_queries_and_success_read_gymnasiums_info_layout() -> None:
    """Queries add up over every step's values; a row succeeds where a step reports True under its mask,
    and a step that reports no verdict (or no count) is skipped."""
    infos = [
        {"reward_queries": np.array([1, 1, 0]), "_reward_queries": np.array([True, True, False])},
        {
            "reward_queries": np.array([1, 1, 1]),
            "_reward_queries": np.ones(3, bool),
            "is_success": np.array([True, False, True]),
            "_is_success": np.array([True, True, False]),
        },  # fmt: skip
        {"is_success": np.array([False, True, False]), "_is_success": np.array([False, True, True])},
        {},
    ]
    queries, success = _queries_and_success(infos, 3)
    assert queries == 5 and success.tolist() == [True, True, False]
    queries, success = _queries_and_success([{}], 2)
    assert queries == 0 and success.dtype == bool and success.tolist() == [False, False]
