"""SB3's dict-observation feature extractor with an ``int`` output size, so sb3-contrib's LSTM policies accept it.

SB3 sizes ``CombinedExtractor``'s output with ``sum(space.nvec)`` for the ``tokens`` MultiDiscrete key, a
``numpy.int64``; recent torch releases refuse a non-``int`` ``input_size`` in ``nn.LSTM``, so RecurrentPPO
fails to build on these envs (``TypeError: input_size should be of type int, got: int64``). The
features themselves are unchanged.
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces
from stable_baselines3.common.torch_layers import CombinedExtractor


class SequenceObservationExtractor(CombinedExtractor):
    """``CombinedExtractor`` (one-hot tokens and position, raw context, concatenated) with ``features_dim: int``."""

    def __init__(self, observation_space: spaces.Dict, **kwargs: Any) -> None:
        super().__init__(observation_space, **kwargs)
        self._features_dim = int(self._features_dim)


def sequence_policy_kwargs(**overrides: Any) -> dict[str, Any]:
    """``policy_kwargs`` that select ``SequenceObservationExtractor``; ``overrides`` take precedence."""
    return {"features_extractor_class": SequenceObservationExtractor, **overrides}
