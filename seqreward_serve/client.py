"""Clients of a seqreward server in the shape of OpenEnv's ``EnvClient``: ``reset(**kwargs)`` and
``step(action)`` return a ``StepResult`` (``observation``, ``reward``, ``done``, ``metadata``), ``state()``
a dict, ``close()`` ends the session; both are context managers.

``SeqRewardClient`` keeps one WebSocket (``/ws``, the session OpenEnv's client opens), ``SeqRewardHTTPClient``
plain HTTP with the session id the first ``reset`` returned. An action is a token (an int) or
``{"token": int}``. A refused request raises ``ServeError`` with the server's status, field and message.
With the ``openenv`` package installed, ``seqreward_serve.openenv_client.SeqRewardEnv`` is the same client
as a subclass of OpenEnv's own ``EnvClient``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.sync.client import connect


@dataclass
class StepResult:
    """One answer of the server (OpenEnv's ``StepResult``): ``observation`` ``{context: d floats, tokens: N
    ints in [0, k] (k: not written yet), position}``, ``reward`` (None after a reset), ``done``, ``metadata``
    (``reward_queries`` of this step, ``is_success``, ``session_id``, ``episode_id``, ``step_count``,
    ``total_reward_queries``)."""

    observation: dict[str, Any]
    reward: float | None
    done: bool
    metadata: dict[str, Any]


class ServeError(RuntimeError):
    """A request the server refused: ``status`` (HTTP status), ``field`` and the server's one-line ``message``."""

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.field, self.message = status, field, message


def as_action(action: Any) -> dict[str, Any]:
    """``{"token": t}`` from a token or an action dict (sent as given: the server checks it)."""
    if isinstance(action, dict):
        return action
    if hasattr(action, "item"):  # a numpy integer
        action = action.item()
    return {"token": action}


def step_result(payload: dict[str, Any]) -> StepResult:
    return StepResult(
        payload["observation"], payload.get("reward"), bool(payload.get("done")), payload.get("metadata") or {}
    )


class SeqRewardClient:
    """One episode at a time over one WebSocket: ``base_url`` is ``http://host:port`` (or ``ws://``)."""

    def __init__(self, base_url: str, *, timeout_s: float = 30.0) -> None:
        url = base_url.rstrip("/").replace("https://", "wss://").replace("http://", "ws://")
        self._connection = connect(f"{url}/ws", open_timeout=timeout_s, close_timeout=timeout_s, proxy=None)
        self._ws = self._connection.__enter__()  # the socket lives as long as this client, not a with-block
        self._timeout_s = timeout_s

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        self._ws.send(json.dumps(message))
        reply = json.loads(self._ws.recv(timeout=self._timeout_s))
        if reply.get("type") == "error":
            data = reply.get("data", {})
            raise ServeError(int(data.get("status", 400)), data.get("field"), str(data.get("message")))
        return reply["data"]

    def reset(self, **kwargs: Any) -> StepResult:
        """Start an episode; ``seed``, ``options`` (``context``, ``prefix``) and ``episode_id`` as in the env."""
        return step_result(self._ask({"type": "reset", "data": kwargs}))

    def step(self, action: Any) -> StepResult:
        return step_result(self._ask({"type": "step", "data": as_action(action)}))

    def state(self) -> dict[str, Any]:
        return self._ask({"type": "state"})

    def close(self) -> None:
        try:
            self._ws.send(json.dumps({"type": "close"}))
        except Exception:  # already closed by the server (idle) or the network: nothing left to end
            pass
        self._connection.__exit__(None, None, None)

    def __enter__(self) -> SeqRewardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SeqRewardHTTPClient:
    """The same over plain HTTP: the first ``reset`` opens a session, later calls name it."""

    def __init__(self, base_url: str, *, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s, trust_env=False)
        self.session_id: str | None = None

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._answer(self._http.post(path, json=body))

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        payload = response.json()
        if response.status_code >= 400:
            raise ServeError(response.status_code, payload.get("field"), str(payload.get("detail")))
        return payload

    def reset(self, **kwargs: Any) -> StepResult:
        body = {**kwargs, "session_id": self.session_id} if self.session_id else dict(kwargs)
        result = step_result(self._post("/reset", body))
        self.session_id = result.metadata["session_id"]
        return result

    def step(self, action: Any) -> StepResult:
        return step_result(self._post("/step", {"action": as_action(action), "session_id": self.session_id}))

    def state(self) -> dict[str, Any]:
        return self._answer(self._http.get("/state", params={"session_id": self.session_id or ""}))

    def close(self) -> None:
        if self.session_id is not None:
            try:
                self._post("/close", {"session_id": self.session_id})
            except ServeError:  # closed already (idle): nothing left to end
                pass
            self.session_id = None
        self._http.close()

    def __enter__(self) -> SeqRewardHTTPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
