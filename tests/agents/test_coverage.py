"""Exact pass@k, Cover@tau, greedy exact match and the sampled pass@k estimator: against enumeration of every
response on tiny tasks, against the estimator's own mean, at the edges of floating point, and on bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from agents.policy.choice import make_policy
from agents.policy.coverage import area_between, coverage_metrics, crossover_k, pass_at_k_per_context
from agents.policy.evaluation import (
    PolicyEvaluator,
    cover_at,
    greedy_decode,
    greedy_exact_match,
    pass_at_k,
    sampled_pass_at_k,
)
from agents.policy.linear import LinearPolicy
from seqreward_env import SequenceTask
from tests.env.test_task_enumeration import reference_token_probs


def tiny_task(seq_len: int = 2, vocab_size: int = 3) -> SequenceTask:
    return SequenceTask(seq_len=seq_len, vocab_size=vocab_size, context_dim=2, sigma=0.4, task_seed=3)


@pytest.mark.parametrize("samples", [1, 2, 3])
def test_exact_pass_at_k_equals_enumeration_of_every_set_of_k_responses(samples: int) -> None:
    """pass@k = P(one of k independent responses is y*), summed over all (k^N)^samples tuples of responses,
    each response's probability from the policy written out token by token."""
    task = tiny_task()
    rng = np.random.default_rng(0)
    # float32-representable weights: the policy holds them in float32, the reference in float64
    w1, w2 = (rng.normal(size=shape).astype(np.float32).astype(np.float64) for shape in ((2, 3), (3, 3)))
    contexts = task.sample_contexts(np.random.default_rng(1), 5)
    targets = task.targets(contexts)
    responses = list(itertools.product(range(task.vocab_size), repeat=task.seq_len))
    expected = []
    for x, target in zip(contexts, targets, strict=True):
        probs = {y: math.prod(reference_token_probs(w1, w2, x, y)) for y in responses}
        assert math.isclose(sum(probs.values()), 1.0, rel_tol=1e-9)
        hit = sum(
            math.prod(probs[y] for y in draw)
            for draw in itertools.product(responses, repeat=samples)
            if tuple(target) in draw
        )
        expected.append(hit)
    evaluator = PolicyEvaluator(task, test_contexts=contexts, pass_at_k=(samples, 1))
    policy = LinearPolicy.from_weights(w1, w2)
    metrics = evaluator(policy)
    assert metrics[f"eval/pass@{samples}"] == pytest.approx(np.mean(expected), rel=1e-9)
    log_likelihoods = evaluator.token_log_probs(policy).sum(axis=1)
    per_context = pass_at_k_per_context(log_likelihoods, samples)[:, 0]
    np.testing.assert_allclose(per_context, expected, rtol=1e-9)
    assert metrics["eval/pass@1"] == pytest.approx(1.0 - metrics["eval/test_error"], rel=1e-12)


def test_pass_at_k_keeps_its_digits_at_the_edges() -> None:
    log_p = np.array([-np.inf, math.log(1e-300), 0.0, math.log1p(-1e-17), -1e-300, math.log(0.5)])
    ks = (1, 2**30, 2**62)
    values = pass_at_k_per_context(log_p, ks)
    assert np.all(values[0] == 0.0)  # p = 0
    np.testing.assert_allclose(values[1], [1e-300, 2**30 * 1e-300, 2**62 * 1e-300], rtol=1e-12)  # no 1 - 1 = 0
    assert np.all(values[2] == 1.0)  # p = 1
    assert values[3, 0] == pytest.approx(1.0, abs=1e-16)
    assert values[4, 0] == 1.0  # log p = -1e-300: p = 1 to double precision
    np.testing.assert_allclose(values[5], [0.5, 1.0, 1.0])
    # 1 - (1 - 1e-9)^(2^30) = 1 - exp(-1.0737...) to full precision (naive powers lose ~7 digits here)
    assert pass_at_k(np.log([1e-9]), 2**30)[0] == pytest.approx(-math.expm1(2**30 * math.log1p(-1e-9)), rel=1e-14)
    assert np.all(np.diff(values[np.isfinite(log_p) & (log_p < 0)], axis=1) >= 0)  # non-decreasing in k


def test_sampled_estimator_is_unbiased_for_the_exact_value() -> None:
    """The mean of Chen et al.'s estimator over many draws of n samples lies within its 99.9% interval of
    the exact 1 - (1 - p)^k; and the estimator equals its definition with binomials."""
    rng = np.random.default_rng(7)
    n, draws = 40, 20_000
    for p, k in [(0.02, 10), (0.1, 4), (0.5, 1), (0.003, 40)]:
        estimates = sampled_pass_at_k(n, rng.binomial(n, p, size=draws), k)
        exact = pass_at_k(np.log([p]), k)[0]
        half_width = 3.3 * estimates.std(ddof=1) / math.sqrt(draws)
        assert abs(estimates.mean() - exact) <= half_width + 1e-12, (p, k, estimates.mean(), exact)
    for c in range(n + 1):
        for k in (1, 5, 17, 40):
            definition = 1.0 - math.comb(n - c, k) / math.comb(n, k)
            assert sampled_pass_at_k(n, c, k) == pytest.approx(definition, abs=1e-13)
    assert sampled_pass_at_k(10**6, 1, 10**5) == pytest.approx(0.1, rel=1e-9)  # no overflowing binomials


def test_cover_at_counts_contexts_at_or_above_tau() -> None:
    likelihoods = np.array([0.0, 0.1, 0.5, 0.5, 0.9, 1.0])
    assert cover_at(likelihoods, 0.5) == pytest.approx(4 / 6)
    np.testing.assert_allclose(cover_at(likelihoods, (1e-300, 0.1, 1.0)), [5 / 6, 5 / 6, 1 / 6])


def test_crossover_and_area() -> None:
    ks = (1, 2, 4, 8)
    assert crossover_k(ks, [0.1, 0.3, 0.6, 0.9], [0.5, 0.5, 0.5, 0.5]) == 4
    assert crossover_k(ks, [0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]) is None
    assert crossover_k(ks, [0.1, 0.5, 1.0, 1.0], [0.5, 0.9, 1.0, 1.0]) is None  # equal at 1: not overtaken
    assert area_between(ks, [0.0] * 4, [1.0] * 4) == pytest.approx(3.0)  # 3 doublings of k


@pytest.mark.parametrize("kind", ["linear", "mlp", "transformer"])
def test_greedy_exact_match_equals_decoding(kind: str) -> None:
    """The teacher-forced greedy exact match agrees with decoding: on rows whose target is the policy's own
    greedy decode it is 1, on rows whose target differs it is 0."""
    task = SequenceTask(seq_len=5, vocab_size=4, context_dim=3, sigma=0.4, task_seed=1)
    policy = make_policy(kind, task, seed=2)
    if kind == "linear":
        generator = torch.Generator().manual_seed(0)
        for parameter in policy.parameters():
            parameter.data.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    contexts = task.sample_contexts(np.random.default_rng(3), 64)
    decoded = greedy_decode(policy, contexts, task.seq_len)
    assert greedy_exact_match(policy, contexts, decoded) == 1.0
    other = decoded.copy()
    other[::2, -1] = (other[::2, -1] + 1) % task.vocab_size  # a wrong last token on every other row
    assert greedy_exact_match(policy, contexts, other) == pytest.approx(0.5)
    targets = task.targets(contexts)
    expected = float(np.all(decoded == targets, axis=1).mean())
    metrics = PolicyEvaluator(task, test_contexts=contexts)(policy)
    assert metrics["eval/greedy_exact_match"] == pytest.approx(expected)


def test_greedy_decode_of_the_linear_policy_against_enumeration() -> None:
    """With every position's probabilities written out, the greedy response is each step's argmax."""
    task = tiny_task(seq_len=3)
    rng = np.random.default_rng(4)
    w1, w2 = rng.normal(size=(2, 3)), rng.normal(size=(3, 3))
    contexts = task.sample_contexts(np.random.default_rng(5), 6)
    decoded = greedy_decode(LinearPolicy.from_weights(w1, w2), contexts, task.seq_len)
    for x, row in zip(contexts, decoded, strict=True):
        prefix: tuple[int, ...] = ()
        for _ in range(task.seq_len):
            scores = [reference_token_probs(w1, w2, x, (*prefix, j))[-1] for j in range(task.vocab_size)]
            prefix = (*prefix, int(np.argmax(scores)))
        assert tuple(row) == prefix


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pass_at_k([-1.0], 0), "ks must be integers k >= 1"),
        (lambda: pass_at_k([-1.0], 2.0), "ks must be integers k >= 1"),
        (lambda: pass_at_k([-1.0], True), "ks must be integers k >= 1"),
        (lambda: pass_at_k([-1.0], ()), "ks must hold at least one k"),
        (lambda: pass_at_k([0.5], 1), "log_likelihoods must be <= 0"),
        (lambda: pass_at_k([-1.0, np.nan], 1), "log_likelihoods must not be NaN"),
        (lambda: pass_at_k([], 1), "log_likelihoods must hold at least one context"),
        (lambda: cover_at([0.5], 0.0), "tau must lie in \\(0, 1\\]"),
        (lambda: cover_at([0.5], 1.5), "tau must lie in \\(0, 1\\]"),
        (lambda: cover_at([], 0.5), "likelihoods must hold at least one context"),
        (lambda: cover_at([1.2], 0.5), "likelihoods must be probabilities"),
        (lambda: sampled_pass_at_k(10, 3, 0), "k must be an integer >= 1"),
        (lambda: sampled_pass_at_k(10, 3, 11), "k must be at most n"),
        (lambda: sampled_pass_at_k(10, 11, 2), "c must be integers in \\[0, n=10\\]"),
        (lambda: sampled_pass_at_k(0, 0, 1), "n must be an integer >= 1"),
        (lambda: coverage_metrics([-1.0], ks=(1, -3)), "ks must be integers k >= 1"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


def test_evaluator_and_evaluation_refuse_bad_k_and_tau() -> None:
    from agents.experiment.job_specs import Evaluation

    task = tiny_task()
    with pytest.raises(ValueError, match="pass_at_k must be integers k >= 1"):
        PolicyEvaluator(task, test_size=4, pass_at_k=(0,))
    with pytest.raises(ValueError, match="cover_taus must lie in"):
        PolicyEvaluator(task, test_size=4, cover_taus=(2.0,))
    with pytest.raises(ValueError, match="evaluation.pass_at_k must be integers k >= 1"):
        Evaluation(pass_at_k=(1, 0.5))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="evaluation.cover_taus must lie in"):
        Evaluation(cover_taus=(0.0,))


def test_sb3_evaluator_logs_exact_pass_at_k_and_cover() -> None:
    """SB3's evaluator: pass@1 is its mean likelihood, pass@k and cover@tau follow from its exact
    per-context likelihoods, under the same names as every other learner's."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from agents.learners.sb3.callbacks import SB3Evaluator
    from agents.learners.sb3.evaluation import evaluate_sb3_policy
    from seqreward_env import SequenceEnv

    task = SequenceTask(seq_len=3, vocab_size=3, context_dim=2, sigma=0.4, task_seed=2)
    model = PPO("MultiInputPolicy", SequenceEnv(task=task), n_steps=16, batch_size=16, seed=0)
    evaluator = SB3Evaluator(task, 64, pass_at_k=(1, 3, 2**30), cover_taus=(0.01, 0.05))
    metrics = evaluator(model)
    exact = evaluate_sb3_policy(model, task, evaluator.test_contexts)
    assert metrics["eval/pass@1"] == pytest.approx(exact.likelihood_mean, rel=1e-9)
    assert metrics["eval/pass@3"] == pytest.approx(np.mean(1 - (1 - exact.likelihoods) ** 3), rel=1e-9)
    assert metrics["eval/pass@1073741824"] == pytest.approx(1.0, abs=1e-9)
    assert metrics["eval/cover@0.05"] == pytest.approx(np.mean(exact.likelihoods >= 0.05))
    assert metrics["eval/greedy_exact_match"] == exact.greedy_exact_match_rate


def test_evaluators_log_rather_than_stop_on_rounding_and_nan() -> None:
    """What an evaluation passes on: a log-likelihood a rounding error above 0 counts as p = 1, a NaN one
    (a diverged model) gives NaN metrics; the public functions refuse both."""
    metrics = coverage_metrics([1e-9, -np.inf], (1, 4), (0.5,), strict=False)
    assert metrics == {"eval/pass@1": 0.5, "eval/pass@4": 0.5, "eval/cover@0.5": 0.5}
    assert all(np.isnan(value) for value in coverage_metrics([np.nan, -1.0], (1,), (0.5,), strict=False).values())
    with pytest.raises(ValueError, match="log_likelihoods must be <= 0"):
        coverage_metrics([1e-9], (1,), (0.5,))
