"""Benchmark: token-steps per second and per-step latency of a served id (``seqreward-serve`` on a loopback port,
in a child process) under 1, 8 and 64 concurrent clients, against the in-process env in the same run; every
served episode is replayed in process and must give the same rewards, query counts and success flags."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import httpx
import numpy as np
from websockets.asyncio.client import connect

import seqreward_env  # registers the ids
from agents.common.config_checks import ConfigError, check_choices, check_positive
from agents.common.threads import limit_threads
from agents.experiment.cli import Script, parse_command_line
from scripts.common.settings import EnvChoice
from seqreward_serve.process import serve_in_subprocess

TRANSPORTS = ("websocket", "http")


@dataclass(frozen=True)
class BenchServeSettings(EnvChoice):
    """Settings of the serving benchmark."""

    env_id: str = "seqreward/Process-v0"
    """Registered id to serve."""
    clients: tuple[int, ...] = (1, 8, 64)
    """Numbers of concurrent clients, one load level each."""
    episodes: int = 8
    """Episodes each client plays at each level."""
    transports: tuple[str, ...] = TRANSPORTS
    """websocket (OpenEnv's session) and/or http (POST /reset, /step with a session id)."""
    max_steps: int = 200_000
    """The most token-steps one level may ask for (clients x episodes x N); a larger level is refused."""
    max_seconds: float = 300.0
    """A level still running after this many seconds is stopped and reported as failed."""
    seed: int = 0
    """Seed of the episodes' contexts and tokens."""

    def check(self) -> None:
        super().check()
        check_choices(self, "transports", TRANSPORTS)
        check_positive(self, "max_seconds")
        if any(n < 1 for n in self.clients) or not self.clients:
            raise ConfigError(f"clients (--clients) must be one or more integers >= 1, got {self.clients!r}", "clients")
        seq_len = seqreward_env.ENV_IDS[self.env_id]["seq_len"]
        largest = max(self.clients) * self.episodes * seq_len
        if largest > self.max_steps:
            raise ConfigError(
                f"max_steps (--max-steps) is {self.max_steps}, but --clients {max(self.clients)} x --episodes "
                f"{self.episodes} x N={seq_len} asks for {largest} token-steps at one level",
                "max_steps",
            )


SCRIPT = Script("bench_serve", __doc__ or "", BenchServeSettings)


@dataclass
class Episode:
    """One episode a client played: its seed and tokens, and what came back for each token."""

    seed: int
    tokens: list[int]
    rewards: list[float]
    queries: list[int]
    success: bool


def plan(
    settings: BenchServeSettings, level: int, clients: int, client: int, seq_len: int, k: int
) -> list[tuple[int, list[int]]]:
    """The (seed, tokens) of each episode of ``client`` at a load level: one generator per (level, client)."""
    rng = np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(level, client)))
    seeds = rng.integers(0, 2**31, settings.episodes)
    return [(int(s), rng.integers(0, k, seq_len).tolist()) for s in seeds]


async def websocket_client(url: str, episodes: list[tuple[int, list[int]]], latencies: list[float]) -> list[Episode]:
    played = []
    async with connect(url.replace("http://", "ws://") + "/ws", max_size=1 << 20) as ws:
        for seed, tokens in episodes:
            await ws.send(json.dumps({"type": "reset", "data": {"seed": seed}}))
            json.loads(await ws.recv())
            rewards, queries, success = [], [], False
            for token in tokens:
                start = time.perf_counter()
                await ws.send(json.dumps({"type": "step", "data": {"token": token}}))
                reply = json.loads(await ws.recv())
                latencies.append(time.perf_counter() - start)
                data = reply["data"]
                rewards.append(data["reward"])
                queries.append(data["metadata"]["reward_queries"])
                success = data["metadata"]["is_success"]
            played.append(Episode(seed, tokens, rewards, queries, success))
    return played


async def http_client(url: str, episodes: list[tuple[int, list[int]]], latencies: list[float]) -> list[Episode]:
    played = []
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=60) as http:
        session_id = None
        for seed, tokens in episodes:
            body: dict[str, Any] = {"seed": seed} if session_id is None else {"seed": seed, "session_id": session_id}
            session_id = (await http.post("/reset", json=body)).json()["metadata"]["session_id"]
            rewards, queries, success = [], [], False
            for token in tokens:
                start = time.perf_counter()
                data = (await http.post("/step", json={"action": {"token": token}, "session_id": session_id})).json()
                latencies.append(time.perf_counter() - start)
                rewards.append(data["reward"])
                queries.append(data["metadata"]["reward_queries"])
                success = data["metadata"]["is_success"]
            played.append(Episode(seed, tokens, rewards, queries, success))
        await http.post("/close", json={"session_id": session_id})
    return played


async def load_level(
    url: str, transport: str, plans: list[list[tuple[int, list[int]]]], max_seconds: float
) -> tuple[list[list[Episode]], list[float], float]:
    """Every client at once; (each client's episodes, every step's latency in seconds, the wall time)."""
    latencies: list[float] = []
    play = websocket_client if transport == "websocket" else http_client
    start = time.perf_counter()
    results = await asyncio.wait_for(asyncio.gather(*(play(url, p, latencies) for p in plans)), timeout=max_seconds)
    return list(results), latencies, time.perf_counter() - start


def in_process(env_id: str, plans: list[list[tuple[int, list[int]]]]) -> tuple[list[list[Episode]], list[float], float]:
    """The same episodes through the in-process env, one after another (the reference of rates and results)."""
    env = gym.make(env_id).unwrapped
    latencies: list[float] = []
    results = []
    start = time.perf_counter()
    for episodes in plans:
        played = []
        for seed, tokens in episodes:
            env.reset(seed=seed)
            rewards, queries, success = [], [], False
            for token in tokens:
                step_start = time.perf_counter()
                _, reward, _, _, info = env.step(np.int64(token))
                latencies.append(time.perf_counter() - step_start)
                rewards.append(float(reward))
                queries.append(int(info["reward_queries"]))
                success = bool(info["is_success"])
            played.append(Episode(seed, tokens, rewards, queries, success))
        results.append(played)
    return results, latencies, time.perf_counter() - start


def mismatches(served: list[list[Episode]], reference: list[list[Episode]]) -> int:
    """Episodes whose rewards, query counts or success differ from the in-process replay (or are missing)."""
    bad = 0
    for got, want in zip(served, reference, strict=True):
        bad += abs(len(got) - len(want))
        bad += sum(
            (g.seed, g.tokens, g.rewards, g.queries, g.success) != (w.seed, w.tokens, w.rewards, w.queries, w.success)
            for g, w in zip(got, want, strict=False)
        )
    return bad


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_command_line(SCRIPT, argv)[0]
    limit_threads(1)
    task = gym.make(args.env_id).unwrapped.task  # type: ignore[attr-defined]
    print(
        f"{args.env_id}: N={task.seq_len}, k={task.vocab_size}, {task.reward} reward; {args.episodes} episodes per client, random tokens"
    )
    print(
        f"{'transport':>10} {'clients':>7} {'token-steps':>11} {'served steps/s':>15} {'p50 ms':>8} {'p99 ms':>8} {'in-process steps/s':>19} {'p50 us':>7} {'p99 us':>7} {'mismatches':>10}"
    )
    rows: list[dict[str, Any]] = []
    with serve_in_subprocess(args.env_id, "--max-sessions", str(max(args.clients) + 8)) as (url, _):
        for transport in args.transports:
            for level, n in enumerate(args.clients):
                plans = [plan(args, level, n, c, task.seq_len, task.vocab_size) for c in range(n)]
                served, latencies, seconds = asyncio.run(load_level(url, transport, plans, args.max_seconds))
                reference, local_latencies, local_seconds = in_process(args.env_id, plans)
                steps = sum(len(tokens) for p in plans for _, tokens in p)
                row = {
                    "transport": transport,
                    "clients": n,
                    "token_steps": steps,
                    "served_steps_per_s": steps / seconds,
                    "served_p50_ms": 1e3 * float(np.percentile(latencies, 50)),
                    "served_p99_ms": 1e3 * float(np.percentile(latencies, 99)),
                    "in_process_steps_per_s": steps / local_seconds,
                    "in_process_p50_us": 1e6 * float(np.percentile(local_latencies, 50)),
                    "in_process_p99_us": 1e6 * float(np.percentile(local_latencies, 99)),
                    "mismatches": mismatches(served, reference),
                }
                rows.append(row)
                print(
                    f"{transport:>10} {n:>7} {steps:>11,} {row['served_steps_per_s']:>15,.0f} {row['served_p50_ms']:>8.2f} "
                    f"{row['served_p99_ms']:>8.2f} {row['in_process_steps_per_s']:>19,.0f} {row['in_process_p50_us']:>7.1f} "
                    f"{row['in_process_p99_us']:>7.1f} {row['mismatches']:>10}"
                )
    lost = sum(int(row["mismatches"]) for row in rows)
    if lost:
        raise RuntimeError(f"{lost} served episodes differ from the in-process replay (lost or mixed up)")
    print("every served episode's rewards, reward queries and success equal the in-process replay")
    return {"rows": rows}


if __name__ == "__main__":
    main()
