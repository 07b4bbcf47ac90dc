"""The release of the ``seqreward`` distribution, written here once.

setuptools reads ``__version__`` from this file (``[tool.setuptools.dynamic]`` in pyproject.toml) and both
import packages, ``seqreward_env`` and ``agents``, re-export it. ``__distribution__`` names the
distribution that installs them, so a user can tell this ``agents`` from another package that uses the
same import name (see docs/install.md).
"""

__version__ = "0.3.0"
__distribution__ = "seqreward"
