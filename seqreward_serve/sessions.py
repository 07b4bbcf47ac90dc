"""Episodes held by the server: one ``SequenceEnv`` per session over the one shared, read-only task.

Every request that touches an episode goes through ``SessionStore``: it checks the request's fields (the
token against the vocabulary, the reset options through the env's own checks), refuses what the episode
cannot take (a step before ``reset`` or after the last token) and counts the reward queries. Errors are
``RequestError``: an HTTP status, the field at fault and a one-line message naming it, the value and what
is allowed. No request reaches the task except through ``SequenceEnv``'s public ``reset``/``step``, so no
client can change the teacher, the rewards or another session's episode.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import seqreward_env
from seqreward_env import SequenceEnv, SequenceTask

SEED_LIMIT = 2**63  # numpy's SeedSequence takes any int >= 0; JSON ints beyond int64 are a typo
RESET_FIELDS = ("seed", "options", "episode_id", "session_id")
OPTION_FIELDS = ("context", "prefix")


class RequestError(Exception):
    """A request the server refuses: ``status`` (4xx), ``field`` (dotted path, "body" for the whole body) and
    ``message`` (one line: the field, the value, what is allowed)."""

    def __init__(self, status: int, field: str, message: str, code: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message
        self.code = code

    def payload(self) -> dict[str, Any]:
        """The JSON body of the error: ``{"detail": message, "field": field, "code": code}``."""
        return {"detail": self.message, "field": self.field, "code": self.code}


def load_task(env_id: str) -> SequenceTask:
    """The task of a registered id (built once, shared read-only by every session)."""
    if env_id not in seqreward_env.ENV_IDS:
        raise ValueError(
            f"env_id must be a registered seqreward id, one of {sorted(seqreward_env.ENV_IDS)}; got {env_id!r}"
        )
    env = gym.make(env_id)
    task: SequenceTask = env.unwrapped.task  # type: ignore[attr-defined]
    env.close()
    return task


def encode_observation(obs: dict[str, np.ndarray]) -> dict[str, Any]:
    """An observation as JSON: ``context`` (d floats, float32 values written exactly), ``tokens`` (N ints in
    [0, k], k meaning "not written yet"), ``position`` (tokens written so far)."""
    return {
        "context": obs["context"].tolist(),
        "tokens": obs["tokens"].tolist(),
        "position": int(obs["position"]),
    }


@dataclass
class Session:
    """One client's episode: its env, the time it was last used, and its counters."""

    session_id: str
    env: SequenceEnv
    last_used: float
    kind: str  # "http" (reaped by the store) or "ws" (closed by its own connection's idle timeout)
    episode_id: str | None = None
    step_count: int = 0
    episodes: int = 0
    total_reward_queries: int = 0
    done: bool = True  # no episode running: a step is refused until the next reset
    last_info: dict[str, Any] = field(default_factory=dict)


class SessionStore:
    """At most ``max_sessions`` sessions over one task; HTTP sessions idle for ``idle_timeout_s`` are closed."""

    def __init__(self, env_id: str, max_sessions: int, idle_timeout_s: float) -> None:
        self.env_id = env_id
        self.task = load_task(env_id)
        self.max_sessions = max_sessions
        self.idle_timeout_s = idle_timeout_s
        self.sessions: dict[str, Session] = {}

    # ----- life cycle -----------------------------------------------------------------------------
    def open(self, kind: str) -> Session:
        """A new session with a random id (128 bits: one client cannot guess another's)."""
        if len(self.sessions) >= self.max_sessions:
            raise RequestError(
                429,
                "session_id",
                f"session_id: the server holds its maximum of max_sessions={self.max_sessions} sessions; close one "
                f"(POST /close) or wait for idle ones to close after {self.idle_timeout_s:g} s",
                code="CAPACITY_REACHED",
            )
        session = Session(secrets.token_urlsafe(16), SequenceEnv(task=self.task), time.monotonic(), kind)
        self.sessions[session.session_id] = session
        return session

    def get(self, session_id: Any) -> Session:
        """The session ``session_id`` names, or a 4xx naming the field."""
        if not isinstance(session_id, str) or not session_id:
            raise RequestError(422, "session_id", f"session_id must be the string /reset returned, got {session_id!r}")
        session = self.sessions.get(session_id)
        if session is None:
            raise RequestError(
                404,
                "session_id",
                f"session_id: unknown session {session_id[:64]!r} (never opened, closed, or idle for more than "
                f"{self.idle_timeout_s:g} s); POST /reset without a session_id opens a new one",
                code="SESSION_ERROR",
            )
        session.last_used = time.monotonic()
        return session

    def close(self, session_id: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            session.env.close()

    def reap(self, now: float | None = None) -> list[str]:
        """Close the HTTP sessions idle for longer than ``idle_timeout_s``; their ids."""
        now = time.monotonic() if now is None else now
        idle = [sid for sid, s in self.sessions.items() if s.kind == "http" and now - s.last_used > self.idle_timeout_s]
        for sid in idle:
            self.close(sid)
        return idle

    # ----- episodes -------------------------------------------------------------------------------
    def reset(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        """Start an episode from the reset fields (``seed``, ``options``, ``episode_id``); the response body
        ``{observation, reward: None, done: False, metadata}``."""
        seed, options, episode_id = check_reset_fields(data, self.task)
        try:
            obs, info = session.env.reset(seed=seed, options=options)
        except ValueError as error:  # the env's own checks of the options, each naming the option
            raise RequestError(422, "options", f"options: {error}") from None
        session.episode_id = episode_id if episode_id is not None else secrets.token_hex(8)
        session.step_count = 0
        session.episodes += 1
        session.done = False
        session.last_info = dict(info)
        metadata = {**info, "reward_queries": 0, **self.counters(session)}
        return {"observation": encode_observation(obs), "reward": None, "done": False, "metadata": metadata}

    def step(self, session: Session, action: Any) -> dict[str, Any]:
        """One token: the response body ``{observation, reward, done, metadata}`` with the env's info
        (``reward_queries``, ``is_success``) and the session's counters in ``metadata``."""
        token = check_action(action, self.task.vocab_size)
        if session.done:
            what = (
                "before the first reset"
                if session.episodes == 0
                else f"after the episode ended (all N={self.task.seq_len} tokens written)"
            )
            raise RequestError(409, "action", f"action: step {what}; reset the session first", code="EPISODE_ENDED")
        obs, reward, terminated, truncated, info = session.env.step(np.int64(token))
        session.step_count += 1
        session.total_reward_queries += int(info["reward_queries"])
        session.done = bool(terminated or truncated)
        session.last_info = dict(info)
        metadata = {**info, **self.counters(session)}
        return {
            "observation": encode_observation(obs),
            "reward": float(reward),
            "done": session.done,
            "metadata": metadata,
        }

    def state(self, session: Session) -> dict[str, Any]:
        """The session's state (OpenEnv's ``State``: ``episode_id``, ``step_count``, and ours)."""
        return {
            **self.counters(session),
            "env_id": self.env_id,
            "done": session.done,
            "episodes": session.episodes,
            "seq_len": self.task.seq_len,
            "vocab_size": self.task.vocab_size,
        }

    @staticmethod
    def counters(session: Session) -> dict[str, Any]:
        return {
            "session_id": session.session_id,
            "episode_id": session.episode_id,
            "step_count": session.step_count,
            "total_reward_queries": session.total_reward_queries,
        }


def check_action(action: Any, vocab_size: int) -> int:
    """The token of an action ``{"token": t}`` (or a bare integer), an integer in [0, k); else a 422 naming
    ``action.token``."""
    if isinstance(action, dict):
        unknown = sorted(set(action) - {"token"})
        if unknown:
            raise RequestError(
                422, f"action.{unknown[0]}", f'action.{unknown[0]}: unknown field; an action is {{"token": int}}'
            )
        if "token" not in action:
            raise RequestError(422, "action.token", 'action.token is missing; an action is {"token": int}')
        token = action["token"]
    else:
        token = action
    if isinstance(token, bool) or not isinstance(token, int) or not 0 <= token < vocab_size:
        raise RequestError(
            422, "action.token", f"action.token must be an integer token in [0, {vocab_size}), got {token!r}"
        )
    return token


def check_reset_fields(
    data: dict[str, Any], task: SequenceTask
) -> tuple[int | None, dict[str, Any] | None, str | None]:
    """``(seed, options, episode_id)`` from a reset body; a 422 naming the first bad field."""
    unknown = sorted(set(data) - set(RESET_FIELDS))
    if unknown:
        raise RequestError(422, unknown[0], f"{unknown[0]}: unknown field of a reset; allowed: {list(RESET_FIELDS)}")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT):
        raise RequestError(422, "seed", f"seed must be null or an integer in [0, 2^63), got {seed!r}")
    episode_id = data.get("episode_id")
    if episode_id is not None and (not isinstance(episode_id, str) or len(episode_id) > 255):
        raise RequestError(
            422,
            "episode_id",
            f"episode_id must be null or a string of at most 255 characters, got {str(episode_id)[:80]!r}",
        )
    options = data.get("options")
    if options is None:
        return seed, None, episode_id
    if not isinstance(options, dict):
        raise RequestError(
            422, "options", f"options must be null or an object with keys among {list(OPTION_FIELDS)}, got {options!r}"
        )
    unknown = sorted(set(options) - set(OPTION_FIELDS))
    if unknown:
        raise RequestError(
            422, f"options.{unknown[0]}", f"options.{unknown[0]}: unknown option; allowed: {list(OPTION_FIELDS)}"
        )
    parsed: dict[str, Any] = {}
    context = options.get("context")
    if context is not None:
        if (
            not isinstance(context, list)
            or len(context) != task.context_dim
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in context)
        ):
            raise RequestError(
                422,
                "options.context",
                f"options.context must be a list of {task.context_dim} numbers, got {str(context)[:80]}",
            )
        parsed["context"] = np.asarray(context, dtype=np.float64)
    prefix = options.get("prefix")
    if prefix is not None:
        if not isinstance(prefix, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in prefix):
            raise RequestError(
                422, "options.prefix", f"options.prefix must be a list of integer tokens, got {str(prefix)[:80]}"
            )
        parsed["prefix"] = np.asarray(prefix, dtype=np.int64)
    return seed, parsed or None, episode_id
