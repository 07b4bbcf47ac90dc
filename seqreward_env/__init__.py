"""seqreward_env: Gymnasium environments in which an agent writes a length-N token sequence, paid by an
outcome reward (is the whole answer right?) or a process reward (is every prefix right?).

Importing the package registers ``seqreward/Outcome-v0``, ``seqreward/Process-v0`` (small tasks an SB3
or tabular agent learns in minutes) and ``seqreward/PaperOutcome-v1``, ``seqreward/PaperProcess-v1``
(the paper's Figure-1 task: d = k = 32, N = 128, mixture of 32, sigma 0.05, rewards -1/+1, with the
teacher and test set of the official code's seed 0). Version 0 of the paper's ids keeps the same shapes
with a teacher drawn by numpy from ``task_seed``.
"""

from seqreward_env._version import __distribution__, __version__
from seqreward_env.contexts import MixtureContexts, PoolContexts, RademacherContexts
from seqreward_env.env import SequenceEnv
from seqreward_env.evaluation import likelihood_quantile, linear_token_log_probs
from seqreward_env.paper import PaperTaskArrays, paper_task_arrays
from seqreward_env.registration import ENV_IDS, LATEST_ENV_IDS, PAPER_SHAPED_TASK, PAPER_TASK, SMALL_TASK, register_envs
from seqreward_env.task import SequenceTask
from seqreward_env.vector_env import SequenceVectorEnv

register_envs()

__all__ = [
    "__distribution__",
    "__version__",
    "ENV_IDS",
    "LATEST_ENV_IDS",
    "PAPER_SHAPED_TASK",
    "PAPER_TASK",
    "PaperTaskArrays",
    "SMALL_TASK",
    "MixtureContexts",
    "PoolContexts",
    "RademacherContexts",
    "SequenceEnv",
    "SequenceTask",
    "SequenceVectorEnv",
    "likelihood_quantile",
    "linear_token_log_probs",
    "paper_task_arrays",
    "register_envs",
]
