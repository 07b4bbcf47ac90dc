"""seqreward_serve: every registered seqreward id as a service in OpenEnv's wire format.

``seqreward-serve seqreward/Process-v0 --port 8000`` (or ``python -m seqreward_serve ...``) serves one id;
``SeqRewardClient`` (WebSocket) and ``SeqRewardHTTPClient`` (HTTP) play episodes on it in the shape of
OpenEnv's ``EnvClient``. Install with ``pip install "seqreward[serve]"``; ``seqreward_env`` never imports
this package, and this package imports ``seqreward_env`` and no learning code.
"""

from seqreward_serve.app import ServeConfig, create_app
from seqreward_serve.client import SeqRewardClient, SeqRewardHTTPClient, ServeError, StepResult

__all__ = ["SeqRewardClient", "SeqRewardHTTPClient", "ServeConfig", "ServeError", "StepResult", "create_app"]
