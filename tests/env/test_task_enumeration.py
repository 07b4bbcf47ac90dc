"""Targets, likelihoods and margins of tiny tasks against references that enumerate all k^N sequences."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from seqreward_env import SequenceTask, linear_token_log_probs

# (seq_len, vocab_size, context_dim, contexts): every k^N sequence is enumerated for each of them.
TINY_SHAPES = [(3, 3, 2, "mixture"), (2, 4, 3, "rademacher"), (1, 3, 2, "mixture"), (4, 2, 2, "mixture")]


def make_task(seq_len: int, vocab_size: int, context_dim: int, contexts: str, task_seed: int = 0) -> SequenceTask:
    return SequenceTask(
        seq_len=seq_len,
        vocab_size=vocab_size,
        context_dim=context_dim,
        contexts=contexts,
        task_seed=task_seed,
        **({"sigma": 0.4} if contexts == "mixture" else {}),  # the mixture's noise; other contexts have none
    )


def sample_contexts(task: SequenceTask, n: int = 12) -> np.ndarray:
    return task.sample_contexts(np.random.default_rng(17), n)


def teacher_score(task: SequenceTask, x: np.ndarray, previous: int | None, token: int) -> float:
    """(W1* x)_token + W2*[token, previous], the teacher's score, written out as a plain sum."""
    score = sum(float(task.teacher_w1[token, col]) * float(x[col]) for col in range(len(x)))
    if previous is not None:
        score += float(task.teacher_w2[token, previous])
    return score


def reference_target(task: SequenceTask, x: np.ndarray) -> tuple[int, ...]:
    """The one sequence in which every token is the teacher's argmax given the sequence's own prefix."""
    greedy = []
    for y in itertools.product(range(task.vocab_size), repeat=task.seq_len):
        ok = True
        for i, token in enumerate(y):
            previous = None if i == 0 else y[i - 1]
            scores = [teacher_score(task, x, previous, j) for j in range(task.vocab_size)]
            ok = ok and all(scores[token] > scores[j] for j in range(task.vocab_size) if j != token)
        if ok:
            greedy.append(y)
    assert len(greedy) == 1, f"expected one greedy sequence, found {greedy}"
    return greedy[0]


def reference_token_probs(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: tuple[int, ...]) -> list[float]:
    """p_w(y_i | x, y_<i) of the linear softmax policy, one position and one token at a time."""
    d, k = w1.shape
    probs = []
    for i, token in enumerate(y):
        logits = []
        for j in range(k):
            logit = sum(float(x[col]) * float(w1[col, j]) for col in range(d))
            if i > 0:
                logit += float(w2[j, y[i - 1]])
            logits.append(logit)
        normaliser = sum(math.exp(value) for value in logits)
        probs.append(math.exp(logits[token]) / normaliser)
    return probs


def reference_margin(task: SequenceTask, x: np.ndarray) -> float:
    y = reference_target(task, x)
    gap = math.inf
    for i, token in enumerate(y):
        previous = None if i == 0 else y[i - 1]
        for j in range(task.vocab_size):
            if j != token:
                gap = min(gap, teacher_score(task, x, previous, token) - teacher_score(task, x, previous, j))
    w_norm = math.sqrt(
        sum(float(v) ** 2 for v in task.teacher_w1.ravel()) + sum(float(v) ** 2 for v in task.teacher_w2.ravel())
    )
    x_norm_sq = sum(float(v) ** 2 for v in x)
    phi_norm = math.sqrt(x_norm_sq + 1.0) if task.seq_len > 1 else math.sqrt(x_norm_sq)
    return gap / (w_norm * phi_norm)


def random_linear_policy(task: SequenceTask, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(task.context_dim, task.vocab_size)), rng.normal(size=(task.vocab_size, task.vocab_size))


@pytest.mark.parametrize("shape", TINY_SHAPES)
def test_targets_are_the_greedy_sequence(shape: tuple[Any, ...]) -> None:
    task = make_task(*shape)
    x = sample_contexts(task)
    targets = task.targets(x)
    assert targets.shape == (len(x), task.seq_len) and targets.dtype == np.int64
    for row in range(len(x)):
        assert tuple(targets[row]) == reference_target(task, x[row])


@pytest.mark.parametrize("long_cycles", [False, True])
def test_targets_follow_the_greedy_argmax_token_by_token(long_cycles: bool) -> None:
    """Against the definition, one argmax per position, on rows whose targets start cycling at different
    positions (with ``long_cycles`` a teacher that walks k tokens before it repeats one)."""
    k, length = 24, 70
    rng = np.random.default_rng(5)
    w1 = rng.normal(size=(k, 4))
    w2 = rng.normal(size=(k, k))
    if long_cycles:
        w2 = 0.3 * w2 + 8.0 * np.roll(np.eye(k), 1, axis=0)  # after token p, p + 1 (mod k) wins
    task = SequenceTask(seq_len=length, vocab_size=k, context_dim=4, teacher=(w1, w2), sigma=0.4)
    x = task.sample_contexts(np.random.default_rng(6), 300)
    base = task.teacher_scores(x)
    expected = np.empty((len(x), length), dtype=np.int64)
    expected[:, 0] = base.argmax(axis=1)
    for i in range(1, length):
        expected[:, i] = (base + w2[:, expected[:, i - 1]].T).argmax(axis=1)
    targets = task.targets(x)
    np.testing.assert_array_equal(targets, expected)
    np.testing.assert_array_equal(task.targets_by_position(x), expected.T)
    out = np.full((length, len(x)), -1, dtype=np.int64)
    assert task.targets_by_position(x, out=out) is out
    np.testing.assert_array_equal(out, expected.T)
    with pytest.raises(ValueError, match=r"out must be a C-ordered int64 array of shape \(70, 300\)"):
        task.targets_by_position(x, out=np.empty((300, 70), dtype=np.int64).T)
    first_repeat = [min(i for i in range(1, length) if row[i] in row[:i]) for row in expected]
    assert len(set(first_repeat)) > 1 and (max(first_repeat) >= k) == long_cycles


def test_targets_of_a_given_teacher() -> None:
    """A hand-made teacher: token 1 wins at the start, then 1 -> 0 -> 2 -> 0 by the transition matrix."""
    w1 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    w2 = np.array([[0.0, 5.0, 5.0], [0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    task = SequenceTask(seq_len=4, vocab_size=3, context_dim=2, teacher=(w1, w2), contexts=np.array([[1.0, 0.0]]))
    np.testing.assert_array_equal(task.targets(np.array([[1.0, 0.0]])), [[1, 0, 2, 0]])


@pytest.mark.parametrize("shape", TINY_SHAPES)
def test_linear_likelihood_is_the_product_of_softmax_probabilities(shape: tuple[Any, ...]) -> None:
    task = make_task(*shape)
    x = sample_contexts(task, 6)
    w1, w2 = random_linear_policy(task, 1)
    likelihood = task.likelihood(w1, w2, x)
    token_min = task.token_min_probability(w1, w2, x)
    for row in range(len(x)):
        probs = reference_token_probs(w1, w2, x[row], reference_target(task, x[row]))
        assert likelihood[row] == pytest.approx(math.prod(probs), rel=1e-10)
        assert token_min[row] == pytest.approx(min(probs), rel=1e-10)
        assert task.log_likelihood(w1, w2, x[row : row + 1])[0] == pytest.approx(sum(map(math.log, probs)), rel=1e-10)


@pytest.mark.parametrize("shape", TINY_SHAPES)
def test_likelihoods_of_all_sequences_sum_to_one(shape: tuple[Any, ...]) -> None:
    task = make_task(*shape)
    x = sample_contexts(task, 5)
    w1, w2 = random_linear_policy(task, 2)
    sequences = np.array(list(itertools.product(range(task.vocab_size), repeat=task.seq_len)), dtype=np.int64)
    for row in range(len(x)):
        contexts = np.repeat(x[row : row + 1], len(sequences), axis=0)
        log_probs = linear_token_log_probs(w1, w2, contexts, sequences)
        assert log_probs.shape == sequences.shape
        assert np.exp(log_probs.sum(axis=1)).sum() == pytest.approx(1.0, abs=1e-12)
        # and each sequence's likelihood matches the one-token-at-a-time reference
        for index in (0, len(sequences) // 2, len(sequences) - 1):
            expected = math.prod(reference_token_probs(w1, w2, x[row], tuple(sequences[index])))
            assert math.exp(log_probs[index].sum()) == pytest.approx(expected, rel=1e-10)


def test_zero_weights_are_the_uniform_policy() -> None:
    task = make_task(3, 3, 2, "mixture")
    x = sample_contexts(task)
    w1, w2 = np.zeros((2, 3)), np.zeros((3, 3))
    np.testing.assert_allclose(task.likelihood(w1, w2, x), 3.0**-3)
    np.testing.assert_allclose(task.token_min_probability(w1, w2, x), 1 / 3)
    assert task.test_error(task.likelihood(w1, w2, x)) == pytest.approx(1 - 3.0**-3)


@pytest.mark.parametrize("shape", TINY_SHAPES)
def test_policy_function_path_matches_linear_path(shape: tuple[Any, ...]) -> None:
    task = make_task(*shape)
    x = sample_contexts(task, 8)
    w1, w2 = random_linear_policy(task, 3)
    calls: list[dict[str, np.ndarray]] = []

    def linear_policy(obs: dict[str, np.ndarray]) -> np.ndarray:
        """The linear softmax policy reading only what the env observes: context, tokens, position."""
        calls.append(obs)
        logits = obs["context"].astype(np.float64) @ w1
        written = obs["position"] > 0
        previous = obs["tokens"][np.arange(len(logits)), np.maximum(obs["position"] - 1, 0)]
        logits[written] += w2[:, previous[written]].T
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return probs / probs.sum(axis=1, keepdims=True)

    probs = task.policy_token_probabilities(linear_policy, x)
    expected = np.exp(linear_token_log_probs(w1, w2, x, task.targets(x)))
    np.testing.assert_allclose(probs, expected, rtol=1e-6)
    np.testing.assert_allclose(probs.prod(axis=1), task.likelihood(w1, w2, x), rtol=1e-6)
    # One batched call per position, each with observations shaped like the vector env's.
    assert len(calls) == task.seq_len
    for position, obs in enumerate(calls):
        np.testing.assert_array_equal(obs["position"], position)
        np.testing.assert_array_equal(obs["tokens"][:, :position], task.targets(x)[:, :position])
        assert np.all(obs["tokens"][:, position:] == task.vocab_size)
        assert obs["context"].dtype == np.float32


def test_policy_function_with_a_wrong_shape_is_refused() -> None:
    task = make_task(2, 3, 2, "mixture")
    with pytest.raises(ValueError, match="policy"):
        task.policy_token_probabilities(lambda obs: np.ones((len(obs["position"]), 2)) / 2, sample_contexts(task))


@pytest.mark.parametrize("shape", TINY_SHAPES)
def test_margins_match_enumeration(shape: tuple[Any, ...]) -> None:
    task = make_task(*shape)
    x = sample_contexts(task, 16)
    margins = task.margins(x)
    assert margins.shape == (len(x),)
    for row in range(len(x)):
        assert margins[row] == pytest.approx(reference_margin(task, x[row]), rel=1e-9)
    assert np.all(margins > 0)
