"""agents: policy-gradient learners for the seqreward environments."""

from seqreward_env._version import __distribution__, __version__

__all__ = ["__distribution__", "__version__"]
