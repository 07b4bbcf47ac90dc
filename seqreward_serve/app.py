"""The server's routes, in OpenEnv's wire format (the ``openenv`` package, 0.10): ``POST /reset``,
``POST /step``, ``GET /state``, ``GET /schema``, ``GET /health``, ``GET /metadata`` and the WebSocket session
``/ws`` that OpenEnv's ``EnvClient`` speaks.

OpenEnv's own HTTP ``/reset`` and ``/step`` build a fresh env for every request (only the WebSocket keeps
an episode); here an HTTP episode lives in a session: ``/reset`` returns ``metadata.session_id``, and
``/step``, ``/state`` and ``/close`` name it (OpenEnv's ``StepRequest`` allows such extra fields). Every
response to ``reset``/``step`` is ``{"observation": {context, tokens, position}, "reward", "done",
"metadata"}``, ``metadata`` holding the env's info (``reward_queries``, ``is_success``) and the session's
counters. The handlers do their (microsecond) numpy work on the event loop without awaiting in between, so
the requests of one session never interleave. Bodies are read up to ``max_body_bytes`` and parsed here, so a
malformed body gets a 4xx naming the field instead of a framework's generic answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from seqreward_env import ENV_IDS, __version__
from seqreward_serve.sessions import RequestError, SessionStore


@dataclass(frozen=True)
class ServeConfig:
    """What one server serves and its bounds."""

    env_id: str
    """A registered seqreward id (``seqreward/Process-v0``, ...)."""
    max_sessions: int = 256
    """The most sessions (HTTP and WebSocket together) held at once; one more is refused with 429."""
    idle_timeout_s: float = 300.0
    """An HTTP session unused this long is closed; a WebSocket silent this long is closed."""
    max_body_bytes: int = 1 << 16
    """The largest request body or WebSocket message accepted (413 / a closed socket beyond)."""

    def __post_init__(self) -> None:
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id must be a registered seqreward id, one of {sorted(ENV_IDS)}; got {self.env_id!r}")
        for name in ("max_sessions", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if (
            isinstance(self.idle_timeout_s, bool)
            or not isinstance(self.idle_timeout_s, (int, float))
            or not (0 < self.idle_timeout_s < float("inf"))
        ):
            raise ValueError(f"idle_timeout_s must be a finite number of seconds > 0, got {self.idle_timeout_s!r}")


def error_response(error: RequestError) -> JSONResponse:
    return JSONResponse(error.payload(), status_code=error.status)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` when empty), read up to ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise RequestError(413, "body", f"body: Content-Length {declared[:20]} exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, "body", f"body: more than the limit of {limit} bytes")
        chunks.append(chunk)
    return parse_json(b"".join(chunks), "body")


def parse_json(raw: bytes | str, name: str) -> dict[str, Any]:
    """A JSON object from ``raw`` (empty means ``{}``), or a 400/422 naming ``name``."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, bad UTF-8, NaN/Infinity, deep nesting
        raise RequestError(400, name, f"{name}: malformed JSON ({str(error)[:120]})", code="INVALID_JSON") from None
    if not isinstance(value, dict):
        raise RequestError(422, name, f"{name} must be a JSON object, got {type(value).__name__}")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def schemas(store: SessionStore) -> dict[str, Any]:
    """JSON schemas of the action, the observation and the state (OpenEnv's ``GET /schema`` answer)."""
    task = store.task
    integer = {"type": "integer"}
    return {
        "action": {
            "title": "TokenAction",
            "type": "object",
            "properties": {"token": {**integer, "minimum": 0, "maximum": task.vocab_size - 1}},
            "required": ["token"],
            "additionalProperties": False,
        },
        "observation": {
            "title": "SequenceObservation",
            "type": "object",
            "properties": {
                "context": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": task.context_dim,
                    "maxItems": task.context_dim,
                },
                "tokens": {
                    "type": "array",
                    "items": {**integer, "minimum": 0, "maximum": task.vocab_size},
                    "minItems": task.seq_len,
                    "maxItems": task.seq_len,
                },
                "position": {**integer, "minimum": 0, "maximum": task.seq_len},
            },
        },
        "state": {
            "title": "SequenceState",
            "type": "object",
            "properties": {
                "episode_id": {"type": ["string", "null"]},
                "step_count": integer,
                "total_reward_queries": integer,
                "done": {"type": "boolean"},
            },
        },
    }


def create_app(config: ServeConfig) -> FastAPI:
    """The FastAPI app serving ``config.env_id``."""
    store = SessionStore(config.env_id, config.max_sessions, config.idle_timeout_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.create_task(reap_forever(store, min(config.idle_timeout_s / 4, 5.0)))
        try:
            yield
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
            for session_id in list(store.sessions):
                store.close(session_id)

    app = FastAPI(title=f"seqreward {config.env_id}", version=__version__, lifespan=lifespan)
    app.state.store = store

    @app.exception_handler(RequestError)
    async def refuse(request: Request, error: RequestError) -> JSONResponse:
        return error_response(error)

    @app.post("/reset")
    async def reset(request: Request) -> dict[str, Any]:
        data = await read_json(request, config.max_body_bytes)
        session_id = data.get("session_id")
        session = store.get(session_id) if session_id is not None else store.open("http")
        try:
            return store.reset(session, data)
        except RequestError:
            if session_id is None:  # a refused first reset leaves no session behind
                store.close(session.session_id)
            raise

    @app.post("/step")
    async def step(request: Request) -> dict[str, Any]:
        data = await read_json(request, config.max_body_bytes)
        unknown = sorted(set(data) - {"action", "session_id"})
        if unknown:
            raise RequestError(
                422, unknown[0], f"{unknown[0]}: unknown field of a step; allowed: ['action', 'session_id']"
            )
        session = store.get(data.get("session_id"))
        if "action" not in data:
            raise RequestError(
                422, "action", 'action is missing; a step is {"action": {"token": int}, "session_id": str}'
            )
        return store.step(session, data["action"])

    @app.get("/state")
    async def state(session_id: str | None = None) -> dict[str, Any]:
        return store.state(store.get(session_id))

    @app.post("/close")
    async def close(request: Request) -> dict[str, Any]:
        data = await read_json(request, config.max_body_bytes)
        session = store.get(data.get("session_id"))
        store.close(session.session_id)
        return {"closed": session.session_id}

    @app.get("/schema")
    async def schema() -> dict[str, Any]:
        return schemas(store)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "healthy", "sessions": len(store.sessions), "max_sessions": store.max_sessions}

    @app.get("/metadata")
    async def metadata() -> dict[str, Any]:
        task = store.task
        return {
            "name": config.env_id,
            "description": f"seqreward {config.env_id}: write N={task.seq_len} tokens from k={task.vocab_size}, "
            f"{task.reward} reward (a reward query per {'token' if task.reward == 'process' else 'episode'})",
            "version": __version__,
        }

    @app.websocket("/ws")
    async def websocket_session(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            session = store.open("ws")
        except RequestError as error:
            await websocket.send_text(json.dumps(ws_error(error)))
            await websocket.close(code=1013)  # try again later
            return
        try:
            while True:
                try:
                    frame = await asyncio.wait_for(websocket.receive(), timeout=config.idle_timeout_s)
                except asyncio.TimeoutError:
                    await websocket.close(code=1001, reason=f"idle for {config.idle_timeout_s:g} s")
                    return
                if frame["type"] == "websocket.disconnect":
                    return
                raw: str | bytes = frame.get("text") or frame.get("bytes") or b""
                if len(raw) > config.max_body_bytes:
                    too_long = RequestError(
                        413, "message", f"message: more than the limit of {config.max_body_bytes} bytes"
                    )
                    await websocket.send_text(json.dumps(ws_error(too_long)))
                    continue
                reply = ws_reply(store, session.session_id, raw)
                if reply is None:
                    await websocket.close(code=1000)
                    return
                await websocket.send_text(json.dumps(reply))
        except WebSocketDisconnect:
            pass
        finally:
            store.close(session.session_id)

    return app


def ws_error(error: RequestError) -> dict[str, Any]:
    """OpenEnv's WebSocket error frame ``{"type": "error", "data": {message, code, ...}}``."""
    return {
        "type": "error",
        "data": {"message": error.message, "code": error.code, "field": error.field, "status": error.status},
    }


def ws_reply(store: SessionStore, session_id: str, raw: str | bytes) -> dict[str, Any] | None:
    """The answer to one WebSocket message (``{"type": "reset"|"step"|"state"|"close", "data": ...}``), None
    for ``close``."""
    try:
        message = parse_json(raw, "message")
        kind = message.get("type")
        unknown = sorted(set(message) - {"type", "data"})
        if unknown:
            raise RequestError(422, unknown[0], f"{unknown[0]}: unknown field of a message; allowed: ['type', 'data']")
        data = message.get("data", {})
        session = store.get(session_id)
        if kind == "close":
            return None
        if kind == "state":
            return {"type": "state", "data": store.state(session)}
        if kind == "reset":
            if not isinstance(data, dict):
                raise RequestError(422, "data", f"data of a reset must be an object, got {type(data).__name__}")
            if "session_id" in data:
                raise RequestError(
                    422, "data.session_id", "data.session_id: a WebSocket is its own session; leave it out"
                )
            return {"type": "observation", "data": store.reset(session, data)}
        if kind == "step":
            return {"type": "observation", "data": store.step(session, data)}
        raise RequestError(
            422, "type", f"type must be one of ['reset', 'step', 'state', 'close'], got {kind!r}", code="UNKNOWN_TYPE"
        )
    except RequestError as error:
        return ws_error(error)


async def reap_forever(store: SessionStore, period_s: float) -> None:
    """Close idle HTTP sessions every ``period_s`` seconds until cancelled."""
    while True:
        await asyncio.sleep(period_s)
        store.reap()
