"""Network policies: the general autograd path against the linear policy's closed forms, the networks'
incremental logits against their full passes, and the group estimators on the MLP by exact enumeration."""

from __future__ import annotations

import itertools
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import seqreward_env  # noqa: F401
from agents.policy.choice import load_policy, make_policy
from agents.policy.linear import LinearPolicy
from agents.policy.mixture import MixturePolicy
from agents.policy.network_policy import NetworkPolicy, unflatten
from agents.policy.networks import NetworkSizes
from agents.policy.rollout import rollout
from agents.rules.group_advantages import group_advantages
from seqreward_env import SequenceTask, SequenceVectorEnv

SMALL = NetworkSizes(hidden=8, layers=2, heads=2)


def random_linear(d: int = 3, k: int = 4, seed: int = 0) -> LinearPolicy:
    generator = torch.Generator().manual_seed(seed)
    policy = LinearPolicy(d, k)
    policy.w1.data = torch.randn(d, k, generator=generator, dtype=torch.float64)
    policy.w2.data = torch.randn(k, k, generator=generator, dtype=torch.float64)
    return policy


def random_network(name: str, task: SequenceTask, seed: int = 0, dtype: torch.dtype = torch.float32) -> NetworkPolicy:
    """A network with every weight drawn (the shipped ones start uniform: zero output layer)."""
    policy = make_policy(name, task, SMALL, seed=seed)
    assert isinstance(policy, NetworkPolicy)
    policy.module.to(dtype)
    generator = torch.Generator().manual_seed(seed + 1)
    for parameter in policy.parameters():
        parameter.data = 0.5 * torch.randn(parameter.shape, generator=generator, dtype=dtype)
    return policy


def batch(n: int, d: int, k: int, length: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    contexts = torch.randn(n, d, generator=generator, dtype=torch.float64)
    tokens = torch.randint(0, k, (n, length), generator=generator)
    weights = torch.randn(n, length, generator=generator, dtype=torch.float64)
    return contexts, tokens, weights


# ----- the general path equals the closed forms on the linear policy -------------------------------
def test_general_path_equals_the_linear_closed_forms() -> None:
    linear = random_linear()
    general = NetworkPolicy.from_linear(linear)
    contexts, tokens, weights = batch(12, 3, 4, 5)
    weights[:, 0] = 0.0  # a given prefix position
    probs = linear.token_probs(contexts, tokens)
    for closed, auto in zip(
        linear.score(contexts, tokens, probs, weights), general.score(contexts, tokens, None, weights), strict=True
    ):
        torch.testing.assert_close(auto, closed, rtol=1e-10, atol=1e-12)
    for closed, auto in zip(
        linear.per_sample_scores(contexts, tokens, probs, weights),
        general.per_sample_scores(contexts, tokens, None, weights),
        strict=True,
    ):
        torch.testing.assert_close(auto, closed, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        general.score_sq_norms(contexts, tokens, None, weights),
        linear.score_sq_norms(contexts, tokens, probs, weights),
        rtol=1e-10,
        atol=1e-12,
    )
    torch.testing.assert_close(
        general.group_scores(contexts, tokens, None, weights, 4),
        linear.group_scores(contexts, tokens, probs, weights, 4),
        rtol=1e-10,
        atol=1e-12,
    )
    torch.testing.assert_close(general.token_probs(contexts, tokens), probs)
    table = linear.transition_table(linear.begin(contexts))
    torch.testing.assert_close(general.transition_table(general.begin(contexts)), table)


def test_unflatten_follows_the_parameters_and_rejects_a_wrong_length() -> None:
    linear = random_linear()
    blocks = unflatten(linear, torch.arange(3 * 4 + 16, dtype=torch.float64))
    assert [tuple(b.shape) for b in blocks] == [(3, 4), (4, 4)] and float(blocks[1][0, 0]) == 12.0
    with pytest.raises(ValueError, match="29 entries"):
        unflatten(linear, torch.zeros(29))


# ----- the networks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "transformer"])
def test_incremental_logits_equal_the_full_pass(name: str) -> None:
    task = SequenceTask(seq_len=5, vocab_size=4, context_dim=3)
    policy = random_network(name, task)
    contexts, tokens, _ = batch(7, 3, 4, 5)
    full = policy.token_logits(contexts, tokens)
    cache, previous, steps = policy.begin(contexts), None, []
    for i in range(5):
        steps.append(policy.module.step(cache, previous))  # type: ignore[operator]
        previous = tokens[:, i]
    torch.testing.assert_close(torch.stack(steps, dim=1), full, rtol=1e-5, atol=1e-5)
    # a given prefix fills the cache up to its last token, which the next step passes as previous
    cache = policy.begin(contexts, tokens[:, :3])
    torch.testing.assert_close(policy.next_probs(cache, tokens[:, 2]), torch.softmax(full[:, 3], -1))


def test_the_transformer_attends_to_the_whole_prefix_and_the_mlp_only_to_the_last_token() -> None:
    task = SequenceTask(seq_len=4, vocab_size=3, context_dim=2)
    contexts, tokens, _ = batch(1, 2, 3, 4)
    changed = tokens.clone()
    changed[0, 0] = (tokens[0, 0] + 1) % 3  # an earlier token differs, the last one before position 3 does not
    for name, moves in (("mlp", False), ("transformer", True)):
        policy = random_network(name, task)
        before, after = policy.token_logits(contexts, tokens)[0, 3], policy.token_logits(contexts, changed)[0, 3]
        assert bool((before - after).abs().max() > 1e-4) == moves


def test_the_mlp_transition_table_holds_every_next_token_distribution() -> None:
    task = SequenceTask(seq_len=3, vocab_size=4, context_dim=3)
    policy = random_network("mlp", task)
    contexts, tokens, _ = batch(6, 3, 4, 3)
    table = policy.transition_table(policy.begin(contexts))
    probs = policy.token_probs(contexts, tokens)
    torch.testing.assert_close(table[:, 4], probs[:, 0])
    torch.testing.assert_close(table[torch.arange(6), tokens[:, 0]], probs[:, 1])


@pytest.mark.parametrize("name", ["mlp", "transformer"])
def test_shipped_networks_start_uniform_and_round_trip_through_a_file(name: str, tmp_path) -> None:
    task = SequenceTask(seq_len=4, vocab_size=3, context_dim=2)
    fresh = make_policy(name, task, SMALL, seed=3)
    contexts, tokens, _ = batch(5, 2, 3, 4)
    torch.testing.assert_close(fresh.token_probs(contexts.float(), tokens), torch.full((5, 4, 3), 1 / 3))
    trained = random_network(name, task, seed=4)
    trained.save(tmp_path / "model.pt")
    loaded = load_policy(tmp_path / "model.pt")
    assert isinstance(loaded, NetworkPolicy) and loaded.architecture == trained.architecture
    torch.testing.assert_close(loaded.token_logits(contexts, tokens), trained.token_logits(contexts, tokens))
    with pytest.raises(ValueError, match="policy must be one of"):
        make_policy("lstm", task)
    with pytest.raises(ValueError, match="heads must divide hidden"):
        NetworkSizes(hidden=6, heads=4)


@pytest.mark.parametrize("name", ["mlp", "transformer"])
def test_rollout_keeps_the_network_probabilities_of_what_it_wrote(name: str) -> None:
    envs = gym.make_vec("seqreward/Process-v0", num_envs=16, copy=False)
    task = envs.unwrapped.task
    policy = random_network(name, task)
    batch_ = rollout(envs, policy, torch.Generator().manual_seed(0), seed=0)
    expected = policy.token_probs(batch_.contexts, batch_.tokens)
    torch.testing.assert_close(batch_.probs.float(), expected, rtol=1e-5, atol=1e-6)
    assert (batch_.table is not None) == (name == "mlp")  # the MLP's rollout reads its transition table
    mixture = MixturePolicy([policy, LinearPolicy.for_task(task)], [0.5, 0.5])
    mixed = rollout(envs, mixture, torch.Generator().manual_seed(0), seed=1)
    expected = 0.5 * policy.token_probs(mixed.contexts, mixed.tokens) + 0.5 / task.vocab_size
    torch.testing.assert_close(mixed.probs.float(), expected, rtol=1e-5, atol=1e-6)


# ----- group estimators on the MLP by exact enumeration -----------------------------------------------
def enumerated_moments(
    policy: NetworkPolicy, context: torch.Tensor, rewards: torch.Tensor, group_size: int, estimator: str
) -> tuple[torch.Tensor, float, torch.Tensor]:
    """Exact E[g] and tr Var g of one group's g = 1/G sum_i A_i s_i, over every ordered group of G of the
    k^N responses, through the policy's ``group_scores`` and ``score_sq_norms``; also the exact gradient
    grad sum_y p(y) r(y) = sum_y p(y) r(y) s(y)."""
    k = policy.vocab_size
    n = round(math.log(len(rewards), k))
    responses = torch.tensor(list(itertools.product(range(k), repeat=n)))
    x = context.expand(len(responses), -1)
    likelihood = policy.log_likelihood(x, responses).exp().double()
    ones = torch.ones(len(responses), n, dtype=torch.float64)
    exact = policy.group_scores(x, responses, None, ones * (likelihood * rewards).unsqueeze(1), 1)[0]
    groups = torch.tensor(list(itertools.product(range(len(responses)), repeat=group_size)))  # (T, G)
    probability = likelihood[groups].prod(dim=1)
    norms = policy.score_sq_norms(x, responses, None, ones).double()
    advantages = group_advantages(rewards[groups], estimator, norms[groups]).advantages  # (T, G)
    rows = groups.reshape(-1)
    token_weights = advantages.reshape(-1, 1).expand(-1, n)
    estimates = policy.group_scores(x[rows], responses[rows], None, token_weights, len(groups)).double() / group_size
    mean = (probability.unsqueeze(1) * estimates).sum(dim=0)
    variance = float((probability * estimates.pow(2).sum(dim=1)).sum() - mean.pow(2).sum())
    return mean, variance, exact.double()


@pytest.mark.parametrize("estimator", ["reinforce", "rloo", "weighted_leave_one_out"])
def test_unbiased_group_estimators_give_the_exact_policy_gradient_of_the_mlp(estimator: str) -> None:
    task = SequenceTask(seq_len=2, vocab_size=3, context_dim=2, task_seed=1)
    policy = random_network("mlp", task, seed=2, dtype=torch.float64)
    context = torch.as_tensor(task.sample_contexts(np.random.default_rng(0), 1), dtype=torch.float64)
    responses = torch.tensor(list(itertools.product(range(3), repeat=2)))
    rewards = (responses == torch.as_tensor(task.targets(context.numpy()))).double().sum(dim=1)  # process-style
    mean, _, exact = enumerated_moments(policy, context, rewards, 2, estimator)
    assert exact.norm() > 1e-3
    torch.testing.assert_close(mean, exact, rtol=1e-9, atol=1e-12)


def test_oblr_baseline_variance_is_no_larger_than_rloo_on_the_mlp() -> None:
    """The variance-optimal constant baseline b* = E[r ||s||^2] / E[||s||^2] (OBLR-PO's target) against RLOO,
    with G = 3, exactly. (Its weighted leave-one-out plug-in can exceed RLOO with so few responses, as for
    the linear policy: here 0.336 against 0.277.)"""
    task = SequenceTask(seq_len=2, vocab_size=3, context_dim=2, task_seed=1)
    policy = random_network("mlp", task, seed=2, dtype=torch.float64)
    context = torch.as_tensor(task.sample_contexts(np.random.default_rng(0), 1), dtype=torch.float64)
    responses = torch.tensor(list(itertools.product(range(3), repeat=2)))
    rewards = (responses == torch.as_tensor(task.targets(context.numpy()))).all(dim=1).double()
    _, rloo, exact = enumerated_moments(policy, context, rewards, 3, "rloo")
    x = context.expand(len(responses), -1)
    p = policy.log_likelihood(x, responses).exp().double()
    norms = policy.score_sq_norms(x, responses, None, torch.ones(len(responses), 2, dtype=torch.float64)).double()
    b_star = float((p * rewards * norms).sum() / (p * norms).sum())
    optimal = float(((p * (rewards - b_star) ** 2 * norms).sum() - exact.pow(2).sum()) / 3)
    assert optimal < rloo


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["mlp", "transformer"])
def test_a_network_on_cuda_gives_the_cpu_numbers(name: str) -> None:
    envs = gym.make_vec("seqreward/Process-v0", num_envs=16, copy=False)
    task = envs.unwrapped.task
    cpu = random_network(name, task)
    cuda = cpu.copy()
    cuda.module.to("cuda")
    contexts, tokens, weights = batch(16, task.context_dim, task.vocab_size, task.seq_len)
    contexts, weights = contexts.float(), weights.float()
    on_cuda = (contexts.cuda(), tokens.cuda(), None, weights.cuda())
    torch.testing.assert_close(
        cuda.group_scores(*on_cuda, 4).cpu(), cpu.group_scores(contexts, tokens, None, weights, 4), rtol=1e-4, atol=1e-5
    )
    torch.testing.assert_close(
        cuda.score_sq_norms(*on_cuda).cpu(), cpu.score_sq_norms(contexts, tokens, None, weights), rtol=1e-4, atol=1e-5
    )
    generated = rollout(envs, cuda, torch.Generator(device="cuda").manual_seed(0), seed=0)
    assert generated.tokens.device.type == "cuda"
    expected = cuda.token_probs(generated.contexts, generated.tokens)
    torch.testing.assert_close(generated.probs.float(), expected, rtol=1e-5, atol=1e-6)


def test_a_rollout_refuses_mixed_prefix_lengths_for_the_transformer_only() -> None:
    task = SequenceTask(seq_len=4, vocab_size=3, context_dim=2)
    envs = SequenceVectorEnv(num_envs=2, task=task, copy=False, autoreset_mode="disabled")
    prefixes = [np.array([1]), np.array([0, 2])]
    mlp_batch = rollout(envs, random_network("mlp", task), torch.Generator(), prefixes=prefixes, max_steps=1)
    assert mlp_batch.generated.sum() == 2
    with pytest.raises(ValueError, match="prefixes of one length"):
        rollout(envs, random_network("transformer", task), torch.Generator(), prefixes=prefixes, max_steps=1)
