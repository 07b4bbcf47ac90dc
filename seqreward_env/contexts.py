"""Context distributions: the paper's Gaussian mixture, Rademacher vectors and a user-supplied pool.

Every distribution draws in two stages so that a batch of rows, each with its own random generator
(as in a vector env whose rows must match independent single envs), costs one small call per row and
one batched transform: ``draw_raw(rng, n)`` takes the random numbers, ``from_raw(raw)`` turns a
``(n, raw_width)`` block into ``(n, context_dim)`` float32 contexts. Contexts are float32 throughout,
so a context read from an observation and passed back to ``reset`` is exactly the same question.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seqreward_env._checks import check_array, check_int, check_memory, check_real

# The mixture's defaults (arXiv 2603.06957's setting): M = 32 components, noise scale sigma = 0.05.
MIXTURE_COMPONENTS = 32
MIXTURE_SIGMA = 0.05

FLOAT32_MAX = float(np.finfo(np.float32).max)
# The mixture's noise is drawn as sigma * N(0, 1) in float64: past this, sigma only overflows (the noise is
# clipped to norm sigma and the context rescaled to norm sqrt(d), so larger values change nothing else).
SIGMA_MAX = 1e6


class ContextDistribution:
    """Base class: a distribution over float32 contexts in R^d with coordinates in [-bound, bound]."""

    name: str = "contexts"
    context_dim: int
    raw_width: int
    bound: float

    def draw_raw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw the random numbers for ``n`` contexts: a ``(n, raw_width)`` float64 array."""
        raise NotImplementedError

    def from_raw(self, raw: np.ndarray) -> np.ndarray:
        """Turn a ``(n, raw_width)`` block from ``draw_raw`` into ``(n, context_dim)`` float32 contexts."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` contexts with one generator: ``(n, context_dim)`` float32."""
        return self.from_raw(self.draw_raw(rng, n))

    def sample_rows(self, rngs: list[np.random.Generator]) -> np.ndarray:
        """Draw one context per generator, row i from ``rngs[i]``: ``(len(rngs), context_dim)`` float32."""
        raw = np.concatenate([self.draw_raw(rng, 1) for rng in rngs], axis=0)
        return self.from_raw(raw)


class MixtureContexts(ContextDistribution):
    """The paper's mixture: component j has mean e_(j mod d); noise N(0, sigma^2 I) clipped to norm sigma;
    the sum rescaled to norm sqrt(d). Components are equally likely."""

    name = "mixture"

    def __init__(
        self, context_dim: int, num_components: int = MIXTURE_COMPONENTS, sigma: float = MIXTURE_SIGMA
    ) -> None:
        self.context_dim = check_int("context_dim", context_dim, 1)
        self.num_components = check_int("num_components", num_components, 1)
        self.sigma = check_real("sigma", sigma, 0.0)
        if self.sigma > SIGMA_MAX:
            raise ValueError(f"sigma must be a finite number in [0, {SIGMA_MAX:g}], got {sigma!r}")
        # One uniform picks the component; pairs of uniforms become normals (Box-Muller), so that a
        # row costs a single generator call.
        self.raw_width = 1 + 2 * ((self.context_dim + 1) // 2)
        # Every context has norm sqrt(d), so no coordinate exceeds it.
        self.bound = float(np.sqrt(self.context_dim))

    @property
    def centres(self) -> np.ndarray:
        """The noise-free points sqrt(d) e_(j mod d), one per component: ``(num_components, d)`` float32."""
        centres = np.zeros((self.num_components, self.context_dim), dtype=np.float32)
        centres[np.arange(self.num_components), np.arange(self.num_components) % self.context_dim] = self.bound
        return centres

    def draw_raw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.random((n, self.raw_width))

    def sample_rows(self, rngs: list[np.random.Generator]) -> np.ndarray:
        raw = np.empty((len(rngs), self.raw_width))
        for rng, row in zip(rngs, raw, strict=True):  # each row's numbers straight into place
            rng.random(out=row)
        return self.from_raw(raw)

    def from_raw(self, raw: np.ndarray) -> np.ndarray:
        components = np.minimum((raw[:, 0] * self.num_components).astype(np.int64), self.num_components - 1)
        half = (self.raw_width - 1) // 2
        radius = np.log1p(-raw[:, 1 : 1 + half])
        radius *= -2.0
        np.sqrt(radius, out=radius)
        angle = 2.0 * np.pi * raw[:, 1 + half :]
        normals = np.empty((len(raw), 2 * half))  # [r cos(angle), r sin(angle)], written in place
        np.cos(angle, out=normals[:, :half])
        np.sin(angle, out=normals[:, half:])
        normals[:, :half] *= radius
        normals[:, half:] *= radius
        noise = normals[:, : self.context_dim]
        noise *= self.sigma
        noise_norm = np.linalg.norm(noise, axis=1, keepdims=True)
        noise *= np.where(noise_norm > self.sigma, self.sigma / np.maximum(noise_norm, 1e-300), 1.0)
        x = noise
        x[np.arange(len(x)), components % self.context_dim] += 1.0
        x *= self.bound / np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)


class RademacherContexts(ContextDistribution):
    """Contexts uniform on {-1, +1}^d."""

    name = "rademacher"

    def __init__(self, context_dim: int) -> None:
        self.context_dim = check_int("context_dim", context_dim, 1)
        self.raw_width = self.context_dim
        self.bound = 1.0

    def draw_raw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, 2, size=(n, self.context_dim)).astype(np.float64)

    def from_raw(self, raw: np.ndarray) -> np.ndarray:
        return (2.0 * raw - 1.0).astype(np.float32)


class PoolContexts(ContextDistribution):
    """A finite, user-supplied pool of contexts, sampled uniformly with replacement."""

    name = "pool"

    def __init__(self, pool: Any) -> None:
        shape = np.shape(pool) if isinstance(pool, np.ndarray) else None
        if shape is not None and len(shape) == 2:  # checked before check_array copies it to float64
            check_memory({"contexts.shape": shape}, 12 * shape[0] * shape[1], "the pool (float64 and float32)")
        array = check_array("contexts", pool, (None, None))
        if array.shape[0] < 1 or array.shape[1] < 1:
            raise ValueError(f"contexts must be a non-empty (num_contexts, context_dim) array, got shape {array.shape}")
        largest = float(np.abs(array).max())
        if largest > FLOAT32_MAX:  # contexts are float32 throughout: such an entry would become inf
            raise ValueError(
                f"contexts entries must lie within float32's range (|x| <= {FLOAT32_MAX:.4g}), got an entry of "
                f"magnitude {largest:.4g}"
            )
        self.pool = array.astype(np.float32)
        self.context_dim = self.pool.shape[1]
        self.raw_width = 1
        self.bound = float(max(np.abs(self.pool).max(), 1.0))

    def draw_raw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, len(self.pool), size=(n, 1)).astype(np.float64)

    def from_raw(self, raw: np.ndarray) -> np.ndarray:
        return self.pool[raw[:, 0].astype(np.int64)]

    def restricted_to(self, keep: np.ndarray) -> PoolContexts:
        """The pool with only the rows where the boolean ``keep`` is True (used for a margin condition)."""
        return PoolContexts(self.pool[keep])


def make_distribution(
    contexts: Any, context_dim: int, num_components: int = MIXTURE_COMPONENTS, sigma: float = MIXTURE_SIGMA
) -> ContextDistribution:
    """Build the distribution named by ``contexts`` ("mixture", "rademacher") or a pool from an array.
    ``num_components`` and ``sigma`` are the mixture's: any other kind of contexts refuses a value other than
    their defaults, naming it, instead of ignoring it."""
    if isinstance(contexts, str) and contexts == "mixture":
        return MixtureContexts(context_dim, num_components, sigma)
    if isinstance(contexts, str) and contexts != "rademacher":
        raise ValueError(f"contexts must be 'mixture', 'rademacher' or an array of contexts, got {contexts!r}")
    if isinstance(contexts, str):
        kind = f"{contexts!r} contexts"
    else:
        kind = f"a {type(contexts).__name__}" if isinstance(contexts, ContextDistribution) else "a pool of contexts"
    mixture_settings = (("num_components", num_components, MIXTURE_COMPONENTS), ("sigma", sigma, MIXTURE_SIGMA))
    for name, value, default in mixture_settings:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != default:
            raise ValueError(
                f"{name}={value!r} does not apply to {kind}: it is a setting of the 'mixture' contexts only; "
                f"leave {name} unset"
            )
    if isinstance(contexts, str):
        return RademacherContexts(context_dim)
    if isinstance(contexts, ContextDistribution):
        return contexts
    pool = PoolContexts(contexts)
    if pool.context_dim != context_dim:
        raise ValueError(
            f"contexts has {pool.context_dim} columns but context_dim={context_dim}; "
            f"pass context_dim={pool.context_dim} or a pool of shape (num_contexts, {context_dim})"
        )
    return pool
