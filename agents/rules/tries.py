"""Algorithm 1's and Algorithm 2's number of tries m, from the base model's likelihood quantiles.

Paper: "Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (Mousavi-Hosseini and
Erdogdu, arXiv 2603.06957), Algorithm 1 (best-of-m outcome exploration) and Algorithm 2 (process
repair). Inputs are ``(n,)`` arrays of base-model likelihoods over a sample of contexts.
"""

from __future__ import annotations

import math

import numpy as np

from seqreward_env import likelihood_quantile


def best_of_m_tries(base_likelihoods: np.ndarray, eps: float, delta: float, vocab_size: int, seq_len: int) -> int:
    """Algorithm 1's m from the base model's likelihood quantile alpha = LQ(eps) of p0(y*|x).

    A draw from 1/2 q0 + 1/2 uniform is right with probability 1/2 q0(y*|x) + 1/2 k^-N, at least
    (alpha + k^-N) / 2 on the contexts above the quantile, so m draws all miss with probability
    <= exp(-m (alpha + k^-N) / 2) <= delta when

        m = ceil(2 ln(1/delta) / (alpha + k^-N)),

    which is at most 2 ln(1/delta) k^N: the uniform half caps m at order k^N.
    """
    alpha = likelihood_quantile(base_likelihoods, eps)
    return _tries(math.log(1.0 / delta), alpha + float(vocab_size) ** -seq_len)


def process_repair_tries(base_token_minima: np.ndarray, eps: float, delta: float, vocab_size: int, seq_len: int) -> int:
    """Algorithm 2's m from the base model's token-level LQ alpha = LQ(eps) of min_i p0(y*_i | x, y*_<i).

    At each position a draw from 1/2 q0 + 1/2 uniform is right with probability at least
    (alpha + 1/k) / 2 on the contexts above the quantile; asking for failure probability delta / N per
    position (a union bound over the N positions gives delta per context):

        m = ceil(2 ln(N/delta) / (alpha + 1/k)),

    at most 2 k ln(N/delta): the uniform half caps m at order k.
    """
    alpha = likelihood_quantile(base_token_minima, eps)
    return _tries(math.log(seq_len / delta), alpha + 1.0 / vocab_size)


def _tries(log_term: float, success: float) -> int:
    return max(1, math.ceil(2.0 * log_term / success))
