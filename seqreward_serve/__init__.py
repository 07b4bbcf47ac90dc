"""seqreward_serve: every registered seqreward id where RL environments are served.

- ``seqreward-serve seqreward/Process-v0 --port 8000`` (or ``python -m seqreward_serve ...``) serves one id in
  OpenEnv's wire format; ``SeqRewardClient`` (WebSocket) and ``SeqRewardHTTPClient`` (HTTP) play episodes on it
  in the shape of OpenEnv's ``EnvClient`` (``seqreward_serve.openenv_client`` is the same as a subclass of
  OpenEnv's own, where ``openenv`` is installed). Needs the ``serve`` extra.
- ``import seqreward_serve.gem_env`` registers every id with GEM (``gem.make("seqreward/Process-v0")``), as
  text environments. Needs ``gem-llm``.

``seqreward_env`` never imports this package, and this package imports ``seqreward_env`` and no learning code.
The names below load on first use, so the GEM module needs neither FastAPI nor an HTTP client.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "ServeConfig": "seqreward_serve.app",
    "create_app": "seqreward_serve.app",
    "SeqRewardClient": "seqreward_serve.client",
    "SeqRewardHTTPClient": "seqreward_serve.client",
    "ServeError": "seqreward_serve.client",
    "StepResult": "seqreward_serve.client",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seqreward_serve' has no attribute {name!r}")
