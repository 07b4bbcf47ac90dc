"""The seqreward client as a subclass of OpenEnv's own ``EnvClient`` (needs the ``openenv`` package, 0.10).

    from seqreward_serve.openenv_client import SeqRewardEnv, TokenAction

    with SeqRewardEnv(base_url="http://127.0.0.1:8000").sync() as env:
        result = env.reset(seed=0)
        while not result.done:
            result = env.step(TokenAction(token=0))
        print(result.reward, result.observation.metadata["reward_queries"])

The episode runs over OpenEnv's WebSocket session (``/ws``); OpenEnv's ``GenericEnvClient`` works against the
same server with plain dicts (``env.step({"token": 0})``).
"""

from __future__ import annotations

from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server.types import Action, Observation
from pydantic import Field


class TokenAction(Action):  # type: ignore[misc]
    """The next token, an integer in [0, k)."""

    token: int = Field(description="the next token, in [0, k)")


class SequenceObservation(Observation):  # type: ignore[misc]
    """``context`` (d floats), ``tokens`` (N ints in [0, k], k: not written yet), ``position``; OpenEnv's
    ``reward``, ``done`` and ``metadata`` (``reward_queries``, ``is_success``, the session's counters)."""

    context: list[float]
    tokens: list[int]
    position: int


class SeqRewardEnv(EnvClient[TokenAction, SequenceObservation, dict[str, Any]]):  # type: ignore[misc]
    """A typed OpenEnv client of ``seqreward-serve``."""

    def _step_payload(self, action: TokenAction | int) -> dict[str, Any]:
        return {"token": action.token if isinstance(action, TokenAction) else int(action)}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[SequenceObservation]:
        metadata = payload.get("metadata") or {}
        observation = SequenceObservation(
            **payload["observation"], reward=payload.get("reward"), done=bool(payload.get("done")), metadata=metadata
        )
        return StepResult(
            observation=observation, reward=payload.get("reward"), done=bool(payload.get("done")), metadata=metadata
        )

    def _parse_state(self, payload: dict[str, Any]) -> dict[str, Any]:
        return payload
