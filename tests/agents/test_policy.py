"""The linear policy: closed-form scores against autograd, probabilities, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from agents.policy.linear import LinearPolicy
from agents.policy.mixture import MixturePolicy
from agents.policy.protocols import NO_TOKEN
from seqreward_env import SequenceTask


def random_policy(d: int = 3, k: int = 4, seed: int = 0) -> LinearPolicy:
    generator = torch.Generator().manual_seed(seed)
    policy = LinearPolicy(d, k)
    policy.w1.data = torch.randn(d, k, generator=generator)
    policy.w2.data = torch.randn(k, k, generator=generator)
    return policy


def autograd_weighted_log_likelihood(policy: LinearPolicy, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor):
    """Gradient of sum_{b,i} weights[b,i] log p(y_bi) by autograd, written independently of the policy."""
    w1 = policy.w1.detach().clone().requires_grad_(True)
    w2 = policy.w2.detach().clone().requires_grad_(True)
    batch, length = y.shape
    total = torch.zeros(())
    for i in range(length):
        logits = x @ w1
        if i > 0:
            logits = logits + w2[:, y[:, i - 1]].T
        total = total + (weights[:, i] * torch.log_softmax(logits, dim=-1)[torch.arange(batch), y[:, i]]).sum()
    total.backward()
    return w1.grad, w2.grad


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_score_equals_autograd(seed: int) -> None:
    policy = random_policy(seed=seed)
    generator = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(6, 3, generator=generator)
    y = torch.randint(0, 4, (6, 5), generator=generator)
    weights = torch.randn(6, 5, generator=generator)
    probs = policy.token_probs(x, y)
    grad_w1, grad_w2 = policy.score(x, y, probs, weights)
    ref_w1, ref_w2 = autograd_weighted_log_likelihood(policy, x, y, weights)
    torch.testing.assert_close(grad_w1, ref_w1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad_w2, ref_w2, atol=1e-5, rtol=1e-5)


def test_per_sample_scores_and_their_squared_norms() -> None:
    policy = random_policy(seed=3)
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(5, 3, generator=generator)
    y = torch.randint(0, 4, (5, 6), generator=generator)
    weights = torch.randn(5, 6, generator=generator)
    probs = policy.token_probs(x, y)
    per_w1, per_w2 = policy.per_sample_scores(x, y, probs, weights)
    for b in range(5):
        ref_w1, ref_w2 = autograd_weighted_log_likelihood(policy, x[b : b + 1], y[b : b + 1], weights[b : b + 1])
        torch.testing.assert_close(per_w1[b], ref_w1, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(per_w2[b], ref_w2, atol=1e-5, rtol=1e-5)
    norms = policy.score_sq_norms(x, y, probs, weights)
    torch.testing.assert_close(norms, per_w1.pow(2).sum((1, 2)) + per_w2.pow(2).sum((1, 2)), atol=1e-4, rtol=1e-5)


def test_sequence_probabilities_sum_to_one_and_match_step_probabilities() -> None:
    policy = random_policy(d=2, k=3, seed=4)
    x = torch.tensor([[0.5, -1.0]])
    sequences = torch.cartesian_prod(torch.arange(3), torch.arange(3), torch.arange(3))
    log_likelihoods = policy.log_likelihood(x.expand(len(sequences), -1), sequences)
    assert float(log_likelihoods.exp().sum()) == pytest.approx(1.0, abs=1e-5)
    # next_probs at each position (cache + previous token) equals the teacher-forced probabilities
    y = sequences[5:6]
    cache = policy.begin(x)
    stepwise = [policy.next_probs(cache, None)] + [policy.next_probs(cache, y[:, i - 1]) for i in (1, 2)]
    torch.testing.assert_close(torch.stack(stepwise, dim=1), policy.token_probs(x, y))


def test_no_token_marks_rows_at_position_zero() -> None:
    policy = random_policy(seed=5)
    cache = policy.begin(torch.randn(2, 3))
    mixed = policy.next_probs(cache, torch.tensor([NO_TOKEN, 2]))
    torch.testing.assert_close(mixed[0], policy.next_probs(cache, None)[0])
    torch.testing.assert_close(mixed[1], policy.next_probs(cache, torch.tensor([2, 2]))[1])


def test_observation_probs_match_the_task_teacher_forcing() -> None:
    task = SequenceTask(seq_len=4, vocab_size=3, context_dim=2, task_seed=1)
    policy = random_policy(d=2, k=3, seed=6)
    x = task.test_contexts(5)
    w1, w2 = policy.as_numpy()
    through_observations = task.policy_token_probabilities(policy.observation_probs, x)
    np.testing.assert_allclose(np.log(through_observations).sum(1), task.log_likelihood(w1, w2, x), rtol=1e-5)


def test_mixture_policy_mixes_token_probabilities() -> None:
    policy = random_policy(seed=7)
    uniform = LinearPolicy(3, 4)
    mixture = MixturePolicy([policy, uniform], [0.5, 0.5])
    x = torch.randn(3, 3)
    previous = torch.tensor([0, 1, 3])
    expected = 0.5 * policy.next_probs(policy.begin(x), previous) + 0.125
    torch.testing.assert_close(mixture.next_probs(mixture.begin(x), previous), expected)
    with pytest.raises(ValueError, match="weights"):
        MixturePolicy([policy, uniform], [0.7, 0.7])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    policy = random_policy(seed=8)
    policy.save(tmp_path / "model.pt")
    loaded = LinearPolicy.load(tmp_path / "model.pt")
    torch.testing.assert_close(loaded.w1, policy.w1)
    torch.testing.assert_close(loaded.w2, policy.w2)
    wrong = LinearPolicy(5, 4)
    with pytest.raises(ValueError, match="w1"):
        wrong.load_state_dict(policy.state_dict())


@pytest.mark.parametrize("scale", [1.0, 40.0])
def test_transition_table_holds_every_next_token_distribution(scale: float) -> None:
    """Row j: the distribution after token j; row k: position 0, at moderate and at large weights."""
    policy = random_policy(d=3, k=4, seed=3)
    policy.w1.data *= scale
    policy.w2.data *= scale
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(4)) * scale
    cache = policy.begin(x)
    table = policy.transition_table(cache)
    assert table.shape == (5, 5, 4)
    torch.testing.assert_close(table[:, 4], policy.next_probs(cache, None))
    for j in range(4):
        torch.testing.assert_close(table[:, j], policy.next_probs(cache, torch.full((5,), j)))
    mixture = MixturePolicy([policy, LinearPolicy(3, 4)], [0.25, 0.75])
    torch.testing.assert_close(mixture.transition_table(mixture.begin(x)), 0.25 * table + 0.75 / 4)


def test_transition_table_survives_opposed_extreme_logits() -> None:
    """Context and previous token push opposite ways by 120 nats: each factor of the product form is
    e^-120 (zero in float32) where the other is 1, so only the plain-softmax fallback gets the uniform row right."""
    policy = LinearPolicy(1, 2)
    policy.w1.data = torch.tensor([[0.0, -120.0]])
    policy.w2.data = torch.tensor([[-120.0, 0.0], [0.0, 0.0]])  # after token 0, token 0 loses 120 nats
    table = policy.transition_table(policy.begin(torch.ones(1, 1)))
    torch.testing.assert_close(table[0, 0], torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(table[0, 2], torch.softmax(torch.tensor([0.0, -120.0]), dim=0))


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "torch"])
def test_score_from_the_transition_table_equals_the_score_from_probabilities(compiled: bool) -> None:
    policy = random_policy(d=3, k=4, seed=5)
    generator = torch.Generator().manual_seed(6)
    x = torch.randn(6, 3, generator=generator)
    y = torch.randint(0, 4, (6, 5), generator=generator)
    weights = torch.randn(6, 5, generator=generator)
    generated = torch.ones(6, 5, dtype=torch.bool)
    generated[:, :2] = False  # a given prefix: its probabilities are zero in the rollout's probs
    probs = policy.token_probs(x, y) * generated.unsqueeze(-1)
    table = policy.transition_table(policy.begin(x))
    score_from_table = policy.score_from_table if compiled else policy._score_from_table_torch
    for got, want in zip(
        score_from_table(x, y, table, weights, generated), policy.score(x, y, probs, weights), strict=True
    ):
        torch.testing.assert_close(got, want)
