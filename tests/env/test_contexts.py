"""Context distributions: the paper's mixture, Rademacher vectors and pools, and float32 round trips."""

from __future__ import annotations

import numpy as np
import pytest

from seqreward_env import MixtureContexts, PoolContexts, RademacherContexts, SequenceEnv, SequenceTask


@pytest.mark.parametrize(("context_dim", "num_components", "sigma"), [(8, 32, 0.05), (3, 5, 0.3), (32, 32, 0.05)])
def test_mixture_contexts_lie_near_their_centre_on_the_sphere(
    context_dim: int, num_components: int, sigma: float
) -> None:
    mixture = MixtureContexts(context_dim, num_components, sigma)
    x = mixture.sample(np.random.default_rng(0), 4000).astype(np.float64)
    assert x.shape == (4000, context_dim)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), np.sqrt(context_dim), rtol=1e-6)
    # Noise of norm <= sigma turns e_j by an angle of at most arcsin(sigma), so on the sphere of radius
    # sqrt(d) a context lies within sqrt(d) * arcsin(sigma) of its centre (and within sigma-ish, not 0).
    centres = mixture.centres.astype(np.float64)
    distance = np.linalg.norm(x[:, None, :] - centres[None, :, :], axis=2).min(axis=1)
    assert distance.max() <= np.sqrt(context_dim) * np.arcsin(sigma) * (1 + 1e-5)
    assert distance.mean() > 0.1 * np.sqrt(context_dim) * sigma
    # Component j sits on axis j mod d, and components are equally likely.
    axes = np.abs(x).argmax(axis=1)
    counts = np.bincount(axes, minlength=context_dim)
    expected = np.bincount(np.arange(num_components) % context_dim, minlength=context_dim) / num_components
    np.testing.assert_allclose(counts / len(x), expected, atol=0.03)
    assert np.all(x[np.arange(len(x)), axes] > 0)


def test_mixture_without_noise_is_exactly_the_centres() -> None:
    mixture = MixtureContexts(4, 6, 0.0)
    x = mixture.sample(np.random.default_rng(1), 200)
    matches = np.all(x[:, None, :] == mixture.centres[None, :, :], axis=2)  # -0.0 == 0.0 here
    assert matches.any(axis=1).all()
    assert np.unique(matches.argmax(axis=1)).tolist() == [0, 1, 2, 3]  # components 4, 5 share centres 0, 1


def test_mixture_centres() -> None:
    centres = MixtureContexts(3, 5, 0.05).centres
    assert centres.dtype == np.float32
    root3 = np.float32(np.sqrt(3))
    expected = np.array([[root3, 0, 0], [0, root3, 0], [0, 0, root3], [root3, 0, 0], [0, root3, 0]], dtype=np.float32)
    np.testing.assert_array_equal(centres, expected)
    task = SequenceTask(seq_len=2, vocab_size=3, context_dim=3, num_components=5)
    np.testing.assert_array_equal(task.centres, expected)


def test_rademacher_contexts() -> None:
    x = RademacherContexts(6).sample(np.random.default_rng(0), 2000)
    assert x.dtype == np.float32 and x.shape == (2000, 6)
    assert set(np.unique(x).tolist()) == {-1.0, 1.0}
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.1)
    assert len({row.tobytes() for row in x}) == 64  # all of {-1, +1}^6 appears


def test_pool_contexts_are_drawn_uniformly() -> None:
    pool = np.array([[0.5, -1.0], [2.0, 0.0], [0.0, 0.25]])
    contexts = PoolContexts(pool)
    assert contexts.bound == 2.0
    x = contexts.sample(np.random.default_rng(0), 3000)
    index = np.array([np.flatnonzero(np.all(pool == row, axis=1))[0] for row in x])
    np.testing.assert_allclose(np.bincount(index) / len(x), 1 / 3, atol=0.03)
    env = SequenceEnv(seq_len=2, vocab_size=3, context_dim=2, contexts=pool)
    seen = {env.reset(seed=seed)[0]["context"].tobytes() for seed in range(60)}
    assert seen == {row.astype(np.float32).tobytes() for row in pool}


def test_rows_drawn_one_by_one_equal_single_draws() -> None:
    """``sample_rows`` with one generator per row gives what each generator would draw alone."""
    mixture = MixtureContexts(5, 7, 0.2)
    rows = mixture.sample_rows([np.random.default_rng(seed) for seed in range(4)])
    for seed in range(4):
        np.testing.assert_array_equal(rows[seed], mixture.sample(np.random.default_rng(seed), 1)[0])


@pytest.mark.parametrize("contexts", ["mixture", "rademacher"])
def test_observed_context_round_trips_through_reset(contexts: str) -> None:
    """A context read from an observation and passed back to reset is exactly the same question."""
    env = SequenceEnv(seq_len=6, vocab_size=4, context_dim=8, contexts=contexts, reward="process")
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        y = env.task.targets(obs["context"][None])[0]
        # The target computed from the observed float32 context is the env's own target...
        assert [env.step(int(token))[1] for token in y] == [1.0] * 6
        # ...and re-asking the observed context gives the same target again.
        again, _ = env.reset(options={"context": obs["context"].tolist()})
        np.testing.assert_array_equal(again["context"], obs["context"])
        outputs = [env.step(int(token)) for token in y]
        assert outputs[-1][4]["is_success"] is True
        np.testing.assert_array_equal(env.task.targets(again["context"][None])[0], y)


def test_contexts_stay_inside_the_observation_space() -> None:
    env = SequenceEnv(seq_len=2, vocab_size=3, context_dim=32, sigma=0.05)
    box = env.observation_space["context"]
    for seed in range(50):
        assert box.contains(env.reset(seed=seed)[0]["context"])
