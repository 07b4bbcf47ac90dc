"""stable-baselines3 and sb3-contrib on the seqreward environments: a fast VecEnv adapter, exact metrics, callbacks,
and the algorithms as resumable learners of the training loop (``SB3Learner``)."""

from agents.learners.sb3.callbacks import ExactMetricsCallback, SB3Evaluator, TqdmProgressCallback
from agents.learners.sb3.config import SB3Config
from agents.learners.sb3.evaluation import (
    ExactMetrics,
    evaluate_sb3_policy,
    greedy_decode,
    sb3_next_token_probabilities,
)
from agents.learners.sb3.extractors import SequenceObservationExtractor, sequence_policy_kwargs
from agents.learners.sb3.learner import SB3Learner
from agents.learners.sb3.vec_env import SB3VecEnv, make_dummy_vec_env, make_sb3_vec_env

__all__ = [
    "ExactMetrics",
    "ExactMetricsCallback",
    "SB3Config",
    "SB3Evaluator",
    "SB3Learner",
    "SB3VecEnv",
    "SequenceObservationExtractor",
    "TqdmProgressCallback",
    "evaluate_sb3_policy",
    "greedy_decode",
    "make_dummy_vec_env",
    "make_sb3_vec_env",
    "sb3_next_token_probabilities",
    "sequence_policy_kwargs",
]
