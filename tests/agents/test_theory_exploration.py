"""The pieces the theory's agents share: the adaptive step against a hand computation, the paper's m, the
behaviour mixtures' distributions, and early, named errors for bad settings."""

from __future__ import annotations

import itertools
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import seqreward_env  # noqa: F401
from agents.learners.adaptive_pg import AdaptivePG, AdaptivePGConfig
from agents.learners.best_of_m import BestOfM, BestOfMConfig
from agents.learners.exploration import paper_tries, query_rewards, sample_sequence_mixture, sample_token_mixture
from agents.learners.process_repair import ProcessRepair, ProcessRepairConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.policy.protocols import NO_TOKEN
from agents.rules.adaptive import adaptive_update, token_adaptive_update
from agents.rules.tries import best_of_m_tries, process_repair_tries
from seqreward_env import SequenceTask, SequenceVectorEnv


def random_policy(d: int, k: int, seed: int, scale: float = 1.0) -> LinearPolicy:
    policy = LinearPolicy(d, k)
    generator = torch.Generator().manual_seed(seed)
    policy.w1.data.copy_(scale * torch.randn(d, k, generator=generator))
    policy.w2.data.copy_(scale * torch.randn(k, k, generator=generator))
    return policy


def autograd_score(policy: LinearPolicy, x: torch.Tensor, tokens: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_i weights[i] grad log p(tokens[i] | x, tokens[<i]) by autograd, as one flat vector (W1 then W2)."""
    w1 = policy.w1.detach().clone().requires_grad_(True)
    w2 = policy.w2.detach().clone().requires_grad_(True)
    total = torch.zeros(())
    for i, token in enumerate(tokens.tolist()):
        logits = x @ w1 + (w2[:, tokens[i - 1]] if i > 0 else 0.0)
        total = total + weights[i] * torch.log_softmax(logits, dim=0)[token]
    grad_w1, grad_w2 = torch.autograd.grad(total, (w1, w2))
    return torch.cat([grad_w1.reshape(-1), grad_w2.reshape(-1)])


def test_adaptive_step_is_w_plus_s_g_over_4_plus_2_g_squared_by_hand() -> None:
    d, k, n = 3, 4, 5
    policy = random_policy(d, k, seed=1)
    before = torch.cat([policy.w1.reshape(-1), policy.w2.reshape(-1)]).clone()
    generator = torch.Generator().manual_seed(2)
    contexts = torch.randn(2, d, generator=generator)
    tokens = torch.randint(0, k, (2, n), generator=generator)
    weights = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]])  # a verified prefix, a response
    scale = torch.tensor([1.0, 0.5])
    expected = before.clone()
    expected_sizes = []
    for b in range(2):
        g = autograd_score(policy, contexts[b], tokens[b], weights[b])
        size = 1.0 / (4.0 + 2.0 * float(g @ g))
        expected_sizes.append(size)
        expected += float(scale[b]) * size * g  # each row's step from the same iterate, summed
    sizes = adaptive_update(policy, contexts, tokens, weights, scale=scale)
    after = torch.cat([policy.w1.reshape(-1), policy.w2.reshape(-1)])
    torch.testing.assert_close(sizes, torch.tensor(expected_sizes), rtol=1e-5, atol=0)
    torch.testing.assert_close(after, expected, rtol=1e-5, atol=1e-6)


def test_per_token_adaptive_step_is_a_step_per_position_by_hand() -> None:
    d, k, n = 3, 3, 4
    policy = random_policy(d, k, seed=8)
    before = torch.cat([policy.w1.reshape(-1), policy.w2.reshape(-1)]).clone()
    generator = torch.Generator().manual_seed(9)
    contexts = torch.randn(2, d, generator=generator)
    tokens = torch.randint(0, k, (2, n), generator=generator)
    weights = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])  # verified prefixes of lengths 2 and 4
    expected = before.clone()
    expected_sizes = torch.zeros(2, n)
    for b in range(2):
        for i in range(n):
            only_i = torch.zeros(n)
            only_i[i] = weights[b, i]
            g = autograd_score(policy, contexts[b], tokens[b], only_i)
            expected_sizes[b, i] = 1.0 / (4.0 + 2.0 * float(g @ g))
            expected += float(expected_sizes[b, i]) * g
    sizes = token_adaptive_update(policy, contexts, tokens, weights)
    torch.testing.assert_close(sizes, expected_sizes, rtol=1e-5, atol=0)
    torch.testing.assert_close(
        torch.cat([policy.w1.reshape(-1), policy.w2.reshape(-1)]), expected, rtol=1e-5, atol=1e-6
    )


def test_zero_weights_leave_the_policy_unchanged() -> None:
    policy = random_policy(2, 3, seed=3)
    before = policy.state_dict()
    sizes = adaptive_update(policy, torch.ones(1, 2), torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4))
    assert float(sizes[0]) == 0.25  # g = 0: the step size is 1/4 and the step is zero
    torch.testing.assert_close(policy.state_dict()["w1"], before["w1"], rtol=0, atol=0)


def test_paper_tries_by_hand() -> None:
    likelihoods = np.array([0.0, 0.01, 0.02, 0.2, 0.5, 0.9, 0.9, 0.9, 0.9, 0.9])
    # LQ(0.1) over 10 values is the 2nd smallest, 0.01
    assert best_of_m_tries(likelihoods, 0.1, 0.1, 3, 4) == math.ceil(2 * math.log(10) / (0.01 + 3.0**-4))
    assert process_repair_tries(likelihoods, 0.1, 0.1, 3, 4) == math.ceil(2 * math.log(40) / (0.01 + 1 / 3))
    # with nothing on the base model's support the uniform half caps m: 2 ln(1/delta) k^N and 2 k ln(N/delta)
    zeros = np.zeros(10)
    assert best_of_m_tries(zeros, 0.1, 0.1, 3, 4) == math.ceil(2 * math.log(10) * 81)
    assert process_repair_tries(zeros, 0.1, 0.1, 3, 4) == math.ceil(2 * math.log(40) * 3)
    # a base model sure of every answer needs few tries, never fewer than one
    assert best_of_m_tries(np.ones(10), 0.1, 0.5, 3, 4) == 2
    assert best_of_m_tries(np.ones(10), 0.1, 0.99, 3, 4) == 1


def test_paper_tries_from_a_base_model_uses_its_lq() -> None:
    task = SequenceTask(seq_len=4, vocab_size=3, context_dim=4)
    uniform = LinearPolicy.for_task(task)
    contexts = task.sample_contexts(np.random.default_rng(0), 64)
    # the uniform model gives every answer k^-N and every token 1/k
    assert paper_tries("best_of_m", task, uniform, contexts, 0.1, 0.1) == math.ceil(2 * math.log(10) / (2 * 3.0**-4))
    assert paper_tries("process_repair", task, uniform, contexts, 0.1, 0.1) == math.ceil(2 * math.log(40) / (2 / 3))
    with pytest.raises(ValueError, match="algorithm"):
        paper_tries("ppo", task, uniform, contexts, 0.1, 0.1)


def test_sequence_mixture_draws_half_base_model_half_uniform_whole_responses() -> None:
    k, n, draws = 2, 2, 40_000
    base = random_policy(2, k, seed=4, scale=1.5)
    x = torch.tensor([[1.0, -0.5]])
    samples = sample_sequence_mixture(base, x.expand(draws, 2), n, torch.Generator().manual_seed(5))
    for response in itertools.product(range(k), repeat=n):
        tokens = torch.tensor([response])
        q0 = float(torch.exp(base.log_likelihood(x, tokens)))
        frequency = float((samples == tokens).all(dim=1).float().mean())
        assert frequency == pytest.approx(0.5 * q0 + 0.5 * k**-n, abs=0.01)


def test_token_mixture_draws_half_base_model_half_uniform_tokens() -> None:
    k, draws = 3, 40_000
    base = random_policy(2, k, seed=6, scale=1.5)
    x = torch.tensor([[0.5, 1.0]])
    generator = torch.Generator().manual_seed(7)
    for previous in (NO_TOKEN, 2):
        samples = sample_token_mixture(
            base, x.expand(draws, 2), torch.full((draws,), previous, dtype=torch.long), generator
        )
        logits = x[0] @ base.w1 + (base.w2[:, previous] if previous >= 0 else 0.0)
        expected = 0.5 * torch.softmax(logits, dim=0) + 0.5 / k
        frequencies = torch.bincount(samples, minlength=k).double() / draws
        torch.testing.assert_close(frequencies, expected.double(), rtol=0, atol=0.01)


def test_query_rewards_asks_one_query_per_row_and_the_env_counts_it() -> None:
    task = SequenceTask(seq_len=3, vocab_size=3, context_dim=4, reward="process")
    envs = SequenceVectorEnv(num_envs=3, task=task, autoreset_mode="disabled")
    contexts = task.sample_contexts(np.random.default_rng(0), 3)
    targets = task.targets(contexts)
    prefixes = [targets[0, :2], targets[1, :0], (targets[2, :1] + 1) % 3]  # right, empty, wrong
    rewards, queries = query_rewards(envs, contexts, prefixes, np.array([targets[0, 2], targets[1, 0], targets[2, 1]]))
    assert rewards.tolist() == [1.0, 1.0, 0.0] and queries == 3 and envs.total_reward_queries == 3


def make_envs(reward: str, rows: int = 2) -> SequenceVectorEnv:
    return SequenceVectorEnv(num_envs=rows, task=SequenceTask(seq_len=3, vocab_size=3, context_dim=4, reward=reward))


@pytest.mark.parametrize(
    ("config", "argument"),
    [
        (lambda: BestOfMConfig(tries=0), "tries"),
        (lambda: BestOfMConfig(lq_eps=1.0), "lq_eps"),
        (lambda: BestOfMConfig(delta=0.0), "delta"),
        (lambda: BestOfMConfig(lq_contexts=0), "lq_contexts"),
        (lambda: ProcessRepairConfig(tries=-2), "tries"),
        (lambda: ProcessRepairConfig(lq_eps=-0.1), "lq_eps"),
        (lambda: ProcessRepairConfig(delta=1.0), "delta"),
        (lambda: ProcessRepairConfig(lq_contexts=0), "lq_contexts"),
    ],
)
def test_invalid_settings_raise_naming_the_argument(config: object, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        config()  # type: ignore[operator]


def test_agents_refuse_the_wrong_reward_a_foreign_env_and_a_mismatched_policy() -> None:
    envs = make_envs("process")
    task = envs.task
    policy, evaluator = LinearPolicy.for_task(task), LinearEvaluator(task, 8)
    with pytest.raises(ValueError, match="outcome reward"):
        BestOfM(envs, policy, BestOfMConfig(tries=2), 0, evaluator)
    with pytest.raises(ValueError, match="process reward"):
        ProcessRepair(make_envs("outcome"), policy, ProcessRepairConfig(tries=2), 0, evaluator)
    sync = gym.make_vec("seqreward/Outcome-v0", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="SequenceVectorEnv"):
        AdaptivePG(sync, policy, AdaptivePGConfig(), 0, evaluator)
    with pytest.raises(ValueError, match="context_dim"):
        AdaptivePG(envs, LinearPolicy(5, 3), AdaptivePGConfig(), 0, evaluator)
