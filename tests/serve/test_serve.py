"""The server over a real socket: a child process on a free loopback port, played through the WebSocket and
the HTTP clients and raw requests, against the in-process env for the same seeds and tokens."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("websockets")

import seqreward_env  # noqa: E402,F401  (registers the ids)
from seqreward_serve import SeqRewardClient, SeqRewardHTTPClient, ServeError  # noqa: E402
from seqreward_serve.process import serve_in_subprocess  # noqa: E402

IDS = ["seqreward/Process-v0", "seqreward/Outcome-v0"]


@pytest.fixture(scope="module", params=IDS)
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with serve_in_subprocess(request.param) as (url, _):
        yield request.param, url


def in_process_episode(env_id: str, seed: int, tokens: list[int]) -> list[tuple[Any, ...]]:
    """(reward, done, reward_queries, is_success, tokens, position) after each token, and the context, in process."""
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    rows: list[tuple[Any, ...]] = [("reset", obs["context"].tolist())]
    for token in tokens:
        obs, reward, terminated, _, info = env.step(token)
        rows.append(
            (
                reward,
                terminated,
                info["reward_queries"],
                info["is_success"],
                obs["tokens"].tolist(),
                int(obs["position"]),
            )
        )
    env.close()
    return rows


def served_episode(client: Any, seed: int, tokens: list[int]) -> list[tuple[Any, ...]]:
    result = client.reset(seed=seed)
    rows: list[tuple[Any, ...]] = [("reset", result.observation["context"])]
    for token in tokens:
        result = client.step(token)
        meta, obs = result.metadata, result.observation
        rows.append(
            (result.reward, result.done, meta["reward_queries"], meta["is_success"], obs["tokens"], obs["position"])
        )
    return rows


def episode_tokens(env_id: str, seed: int) -> list[int]:
    """A response that is partly right (so the process reward has both values): y*'s first half, then random."""
    task = gym.make(env_id).unwrapped.task
    context = gym.make(env_id).reset(seed=seed)[0]["context"]
    target = task.targets(context[None])[0].tolist()
    rng = np.random.default_rng(seed)
    half = task.seq_len // 2 if seed % 2 else task.seq_len
    return target[:half] + rng.integers(0, task.vocab_size, task.seq_len - half).tolist()


@pytest.mark.parametrize("kind", ["websocket", "http"])
def test_served_episodes_equal_the_in_process_env(server: tuple[str, str], kind: str) -> None:
    env_id, url = server
    make = SeqRewardClient if kind == "websocket" else SeqRewardHTTPClient
    total = 0
    with make(url) as client:
        for seed in range(6):
            tokens = episode_tokens(env_id, seed)
            assert served_episode(client, seed, tokens) == in_process_episode(env_id, seed, tokens)
            total += len(tokens) if env_id.endswith("Process-v0") else 1
        state = client.state()
    assert state["total_reward_queries"] == total
    assert state["episodes"] == 6 and state["done"] is True


def test_sessions_are_isolated(server: tuple[str, str]) -> None:
    """Two sessions stepped in turn each see only their own episode."""
    env_id, url = server
    with SeqRewardHTTPClient(url) as a, SeqRewardClient(url) as b:
        tokens_a, tokens_b = episode_tokens(env_id, 1), episode_tokens(env_id, 2)
        a_rows: list[tuple[Any, ...]] = [("reset", a.reset(seed=1).observation["context"])]
        b_rows: list[tuple[Any, ...]] = [("reset", b.reset(seed=2).observation["context"])]
        for token_a, token_b in zip(tokens_a, tokens_b, strict=True):
            for client, token, rows in ((a, token_a, a_rows), (b, token_b, b_rows)):
                r = client.step(token)
                rows.append(
                    (
                        r.reward,
                        r.done,
                        r.metadata["reward_queries"],
                        r.metadata["is_success"],
                        r.observation["tokens"],
                        r.observation["position"],
                    )
                )
        assert a_rows == in_process_episode(env_id, 1, tokens_a)
        assert b_rows == in_process_episode(env_id, 2, tokens_b)
        assert a.state()["session_id"] != b.state()["session_id"]


def refusal(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["detail"].startswith(body["field"]), body
    return response.status_code, body["field"]


def test_bad_requests_get_a_4xx_naming_the_field_and_change_nothing(server: tuple[str, str]) -> None:
    env_id, url = server
    k = gym.make(env_id).unwrapped.task.vocab_size
    reference = in_process_episode(env_id, 5, episode_tokens(env_id, 5))
    with httpx.Client(base_url=url, trust_env=False) as http:
        sid = http.post("/reset", json={"seed": 0}).json()["metadata"]["session_id"]
        post = lambda path, body: http.post(path, content=body, headers={"content-type": "application/json"})  # noqa: E731
        assert refusal(post("/step", b'{"action": {"token": 1}, "session_id": ')) == (400, "body")
        assert refusal(post("/step", b"[1, 2]")) == (422, "body")
        assert refusal(post("/step", b'{"action": {"token": NaN}, "session_id": "x"}')) == (400, "body")
        assert refusal(post("/step", b"\xff\xfe")) == (400, "body")
        assert refusal(post("/step", b"[" * 100_000)) == (413, "body")
        assert refusal(post("/step", b"[" * 50_000)) == (400, "body")  # too deep to parse, not a crash
        for token in (k, -1, 1.5, True, "1", None):
            response = http.post("/step", json={"action": {"token": token}, "session_id": sid})
            assert refusal(response) == (422, "action.token"), token
        assert refusal(http.post("/step", json={"action": {"tok": 1}, "session_id": sid})) == (422, "action.tok")
        assert refusal(http.post("/step", json={"session_id": sid})) == (422, "action")
        assert refusal(http.post("/step", json={"action": {"token": 0}, "session_id": "not-a-session"})) == (
            404,
            "session_id",
        )
        assert refusal(http.post("/step", json={"action": {"token": 0}})) == (422, "session_id")
        assert refusal(http.get("/state", params={"session_id": "nope"})) == (404, "session_id")
        assert refusal(http.post("/step", json={"action": {"token": 0}, "session_id": sid, "reward": 1})) == (
            422,
            "reward",
        )
        assert refusal(http.post("/reset", json={"seed": -1})) == (422, "seed")
        assert refusal(http.post("/reset", json={"seed": 2**64})) == (422, "seed")
        assert refusal(http.post("/reset", json={"options": {"teacher": [[0.0]]}})) == (422, "options.teacher")
        assert refusal(http.post("/reset", json={"options": {"context": [1e9] * 8}})) == (422, "options")
        assert refusal(http.post("/reset", json={"options": {"prefix": [0] * 99}})) == (422, "options")
        assert refusal(http.post("/reset", json={"options": {"prefix": [k]}})) == (422, "options")
        for _ in range(gym.make(env_id).unwrapped.task.seq_len):
            assert http.post("/step", json={"action": {"token": 0}, "session_id": sid}).status_code == 200
        assert refusal(http.post("/step", json={"action": {"token": 0}, "session_id": sid})) == (409, "action")
        assert http.get("/health").json()["status"] == "healthy"
    with SeqRewardClient(url) as client:  # the same episode as before the refused requests
        client._ws.send("{not json")
        assert json.loads(client._ws.recv(timeout=10))["data"]["code"] == "INVALID_JSON"
        with pytest.raises(ServeError, match="action.token must be an integer token"):
            client.reset(seed=5)
            client.step(k)
        with pytest.raises(ServeError, match="type must be one of"):
            client._ask({"type": "teleport"})
        assert served_episode(client, 5, episode_tokens(env_id, 5)) == reference
    with SeqRewardClient(url) as client, pytest.raises(ServeError, match="before the first reset"):
        client.step(0)


def test_schema_and_metadata_describe_the_task(server: tuple[str, str]) -> None:
    env_id, url = server
    task = gym.make(env_id).unwrapped.task
    schema = httpx.get(f"{url}/schema", trust_env=False).json()
    assert schema["action"]["properties"]["token"]["maximum"] == task.vocab_size - 1
    assert schema["observation"]["properties"]["tokens"]["minItems"] == task.seq_len
    assert httpx.get(f"{url}/metadata", trust_env=False).json()["name"] == env_id


def test_sessions_are_bounded_and_idle_ones_close() -> None:
    with serve_in_subprocess("seqreward/Process-v0", "--max-sessions", "2", "--idle-timeout-s", "2") as (url, _):
        first, second = SeqRewardHTTPClient(url), SeqRewardHTTPClient(url)
        first.reset(seed=0)
        second.reset(seed=1)
        with pytest.raises(ServeError, match="max_sessions=2") as refused:
            SeqRewardHTTPClient(url).reset(seed=2)
        assert refused.value.status == 429 and refused.value.field == "session_id"
        time.sleep(4)  # idle past 2 s, and the reaper runs every 0.5 s
        with pytest.raises(ServeError, match="unknown session") as gone:
            first.step(0)
        assert gone.value.status == 404
        third = SeqRewardHTTPClient(url)
        assert third.reset(seed=2).observation["position"] == 0
        third.close()
        with SeqRewardClient(url) as ws:
            ws.reset(seed=0)
            time.sleep(3)  # a silent WebSocket is closed too
            with pytest.raises(Exception):  # noqa: B017  (the socket is gone: websockets' ConnectionClosed)
                ws.step(0)
        assert httpx.get(f"{url}/health", trust_env=False).json()["sessions"] == 0


def test_the_server_stops_cleanly_on_sigterm() -> None:
    with serve_in_subprocess("seqreward/Outcome-v0") as (url, process):
        with SeqRewardClient(url) as client:
            client.reset(seed=0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", trust_env=False)


def test_a_bad_command_line_names_the_argument() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "seqreward_serve", "seqreward/Nope-v0"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "env_id must be a registered seqreward id" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "seqreward_serve", "seqreward/Process-v0", "--max-sessions", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "max_sessions must be an integer >= 1, got 0" in result.stderr


def test_importing_the_envs_does_not_import_the_server() -> None:
    code = "import sys, seqreward_env; bad = [m for m in sys.modules if m.split('.')[0] in ('seqreward_serve', 'fastapi', 'uvicorn', 'websockets')]; assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
