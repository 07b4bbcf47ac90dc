"""Rollouts: drive a Gymnasium vector env of seqreward tasks with a policy and return a typed batch."""

from __future__ import annotations

import inspect
from typing import Any, TypeGuard

import numpy as np
import torch

from agents.policy import kernels
from agents.policy.protocols import NO_TOKEN, AutoregressivePolicy, MarkovPolicy, PrefixConditioned


class Rollout:
    """One batch of episodes (row b is env row b).

    contexts: ``(B, d)`` float32 tensor. tokens: ``(B, N)`` int64 tensor (a given prefix included).
    rewards: ``(B, N)`` float32 tensor (possibly a strided view), the env's reward for the step that
    wrote token i (0 on prefix positions). probs: ``(B, N, k)`` the behaviour policy's next-token
    probabilities at each generated position (zeros on prefix positions), kept for the update.
    generated: ``(B, N)`` bool, the positions the policy wrote. success: ``(B,)`` bool, whole response right (only where the episode ended).
    reward_queries: queries the env answered for this batch. table: for a ``MarkovPolicy`` behaviour,
    its ``(B, k + 1, k)`` transition table; ``probs`` is then looked up from it when first read (so an
    update that works from the table, e.g. ``LinearPolicy.score_from_table``, never forms it).
    """

    __slots__ = ("contexts", "tokens", "rewards", "_probs", "generated", "success", "reward_queries", "table")

    def __init__(
        self,
        contexts: torch.Tensor,
        tokens: torch.Tensor,
        rewards: torch.Tensor,
        probs: torch.Tensor | None,
        generated: torch.Tensor,
        success: torch.Tensor,
        reward_queries: int,
        table: torch.Tensor | None = None,
    ) -> None:
        if probs is None and table is None:
            raise ValueError("a rollout needs the behaviour's probs or its transition table")
        self.contexts, self.tokens, self.rewards, self._probs = contexts, tokens, rewards, probs
        self.generated, self.success, self.reward_queries, self.table = generated, success, reward_queries, table

    @property
    def probs(self) -> torch.Tensor:
        if self._probs is None:
            assert self.table is not None
            batch, length = self.tokens.shape
            k = self.table.shape[-1]
            row = torch.cat([torch.full_like(self.tokens[:, :1], k), self.tokens[:, :-1]], dim=1)
            flat = self.table.reshape(-1, k)
            offsets = torch.arange(batch, device=row.device).unsqueeze(1) * (k + 1)
            probs = flat.index_select(0, (row + offsets).reshape(-1)).view(batch, length, k)
            self._probs = probs * self.generated.unsqueeze(-1).to(probs.dtype)
        return self._probs

    @property
    def returns(self) -> torch.Tensor:
        """Sum of rewards per episode: ``(B,)`` (the outcome reward itself under ORM)."""
        return self.rewards.sum(dim=1)


def rollout(
    envs: Any,
    policy: AutoregressivePolicy,
    generator: torch.Generator,
    *,
    seed: int | list[int] | None = None,
    contexts: np.ndarray | None = None,
    prefixes: np.ndarray | list[np.ndarray] | None = None,
    max_steps: int | None = None,
) -> Rollout:
    """Reset ``envs`` and let ``policy`` write until the episodes end (or for ``max_steps`` steps).

    Args:
        envs: a Gymnasium vector env over a seqreward task (the native ``SequenceVectorEnv`` or a
            sync/async one; per-row ``contexts``/``prefixes`` need the native env).
        policy: samples every token; its probabilities are kept in the batch.
        generator: torch generator for sampling (one seed makes the run reproducible).
        seed: passed to ``envs.reset``: an int, one seed per row (see ``agents.common.seeding.row_seeds``), or
            None to continue the rows' random streams (fresh contexts).
        contexts: ``(B, d)`` contexts to ask instead of fresh ones.
        prefixes: per-row starting prefixes (not queried). Rows must share one length unless
            ``max_steps`` keeps every row inside its episode.
        max_steps: stop after this many steps (e.g. 1 to query one token after a verified prefix).

    One of three paths writes the tokens: rows starting at one position with a Markov policy draw every
    token ahead from one transition table per episode (``_rollout_from_table``); rows starting at one
    position with a policy that reads the whole prefix go step by step (``_rollout_step_by_step``); rows
    starting at different positions (Markov policies only) go step by step, each at its own position
    (``_rollout_from_positions``). All three draw the same ``(steps, B, 1)`` uniforms from ``generator``.
    """
    options: dict[str, Any] = {}
    if contexts is not None:
        options["context"] = contexts
    if prefixes is not None:
        options["prefix"] = prefixes
    observations, _ = envs.reset(seed=seed, options=options or None)
    device = _device_of(policy)
    context = torch.tensor(observations["context"], device=device)  # the env may reuse its arrays
    start = np.array(observations["position"])  # a copy: the env may update its arrays in place
    if start.max() == 0:  # nothing written yet: every token comes from the rollout
        tokens = torch.full(observations["tokens"].shape, policy.vocab_size, device=device)
    else:  # a given prefix (a C-ordered copy: the env may store its tokens by position)
        tokens = torch.as_tensor(np.array(observations["tokens"], order="C"), device=device)
    steps = _steps_to_take(start, tokens.shape[1], max_steps, policy)
    uniforms = torch.rand(steps, tokens.shape[0], 1, generator=generator, device=device)
    first = int(start.max())
    if int(start.min()) != first:
        return _rollout_from_positions(envs, policy, context, tokens, start, uniforms)
    if _is_markov(policy):
        return _rollout_from_table(envs, policy, context, tokens, first, uniforms)
    return _rollout_step_by_step(envs, policy, context, tokens, first, uniforms)


def _steps_to_take(start: np.ndarray, length: int, max_steps: int | None, policy: AutoregressivePolicy) -> int:
    """The steps a rollout takes from the rows' ``(B,)`` start positions: ``max_steps`` if given (refused
    where it would step a row past its episode), else the rest of the episode, which needs one start."""
    if max_steps is not None:
        if max_steps < 1 or max_steps > length - int(start.max()):
            raise ValueError(
                f"max_steps must lie in [1, {length - int(start.max())}] for these prefixes, got {max_steps}"
            )
    elif start.min() != start.max():
        raise ValueError("prefixes of different lengths need max_steps so that no row steps past its episode")
    if start.min() != start.max() and not _is_markov(policy):
        raise ValueError("a policy that reads the whole prefix needs prefixes of one length in a rollout")
    return length - int(start.max()) if max_steps is None else max_steps


def _rollout_from_table(
    envs: Any, policy: MarkovPolicy, context: torch.Tensor, tokens: torch.Tensor, first: int, uniforms: torch.Tensor
) -> Rollout:
    """Every row from position ``first``: the tokens of every step drawn ahead from the policy's transition
    table (the policy never looks at what the env returns), then played. ``probs`` stays unformed: the batch
    looks it up from the table when first read."""
    batch, length = tokens.shape
    with torch.no_grad():
        table = policy.transition_table(policy.begin(context))
        previous = None if first == 0 else _previous_tokens(tokens, torch.full((batch,), first, device=tokens.device))
        planned = _sample_from_table(table, previous, uniforms, tokens, first)
    # One row per step here (contiguous writes); the batch gets its transpose (a view).
    rewards_by_step = np.zeros((length, batch), dtype=np.float32)
    infos = []
    for step in range(len(uniforms)):
        _, reward, _, _, info = envs.step(planned[step])
        rewards_by_step[first + step] = reward
        infos.append(info)
    generated = _columns_written(batch, length, first, len(uniforms), tokens.device)
    return _batch(context, tokens, rewards_by_step.T, None, generated, infos, table)


def _rollout_step_by_step(
    envs: Any,
    policy: AutoregressivePolicy,
    context: torch.Tensor,
    tokens: torch.Tensor,
    first: int,
    uniforms: torch.Tensor,
) -> Rollout:
    """Every row from position ``first`` (the given prefix conditions the policy): one token per step from
    the policy's next-token probabilities, kept for the update."""
    batch, length = tokens.shape
    steps = len(uniforms)
    rewards_by_step = np.zeros((length, batch), dtype=np.float32)
    infos, step_probs, actions = [], [], []
    previous: torch.Tensor | None = None
    with torch.no_grad():
        if first == 0:
            cache = policy.begin(context)
        elif _reads_prefix(policy):
            cache = policy.begin(context, tokens[:, :first])
            previous = _previous_tokens(tokens, torch.full((batch,), first, device=tokens.device))
        else:
            raise ValueError(f"a {type(policy).__name__} cannot start from a given prefix (its begin takes none)")
        for step in range(steps):
            probs = policy.next_probs(cache, previous)
            previous = sample_tokens(probs, uniforms[step])
            _, reward, _, _, info = envs.step(previous.cpu().numpy())
            step_probs.append(probs)
            actions.append(previous)
            rewards_by_step[first + step] = reward
            infos.append(info)
    columns = slice(first, first + steps)
    written = torch.stack(step_probs, dim=1)
    if steps < length:  # zeros on the positions the policy did not write
        all_probs = torch.zeros(batch, length, policy.vocab_size, device=tokens.device)
        all_probs[:, columns] = written
    else:
        all_probs = written
    tokens[:, columns] = torch.stack(actions, dim=1)
    generated = _columns_written(batch, length, first, steps, tokens.device)
    return _batch(context, tokens, rewards_by_step.T, all_probs, generated, infos)


def _rollout_from_positions(
    envs: Any,
    policy: AutoregressivePolicy,
    context: torch.Tensor,
    tokens: torch.Tensor,
    start: np.ndarray,
    uniforms: torch.Tensor,
) -> Rollout:
    """Rows starting at the different positions ``start`` ``(B,)`` (a Markov policy: only the last token
    conditions it): one token per step, each row written at its own position."""
    batch, length = tokens.shape
    device = tokens.device
    probs = torch.zeros(batch, length, policy.vocab_size, device=device)
    rewards = np.zeros((batch, length), dtype=np.float32)
    rows = torch.arange(batch, device=device)
    position = torch.as_tensor(start, device=device).long()
    previous = _previous_tokens(tokens, position)
    previous = torch.where(position > 0, previous, torch.full_like(previous, NO_TOKEN))
    infos = []
    with torch.no_grad():
        cache = policy.begin(context)
        for step in range(len(uniforms)):
            step_probs = policy.next_probs(cache, previous)
            previous = sample_tokens(step_probs, uniforms[step])
            _, reward, _, _, info = envs.step(previous.cpu().numpy())
            probs[rows, position] = step_probs
            tokens[rows, position] = previous
            rewards[rows.cpu().numpy(), position.cpu().numpy()] = reward
            position = position + 1
            infos.append(info)
    span = torch.arange(length, device=device).unsqueeze(0)
    first_written = torch.as_tensor(start, device=device).unsqueeze(1)
    generated = (span >= first_written) & (span < first_written + len(uniforms))
    return _batch(context, tokens, rewards, probs, generated, infos)


def _previous_tokens(tokens: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
    """``(B,)`` each row's token before its ``(B,)`` position (row 0's token where the position is 0)."""
    return tokens.gather(1, (position - 1).clamp(min=0).unsqueeze(1)).squeeze(1)


def _columns_written(batch: int, length: int, first: int, steps: int, device: torch.device) -> torch.Tensor:
    """``(B, N)`` bool: columns ``first, ..., first + steps - 1`` of every row (one row of the mask, repeated)."""
    span = torch.arange(length, device=device).unsqueeze(0)
    return ((span >= first) & (span < first + steps)).expand(batch, length).contiguous()


def _batch(
    context: torch.Tensor,
    tokens: torch.Tensor,
    rewards: np.ndarray,
    probs: torch.Tensor | None,
    generated: torch.Tensor,
    infos: list[dict[str, Any]],
    table: torch.Tensor | None = None,
) -> Rollout:
    """The ``Rollout`` of the written tokens, with the queries and successes the steps' ``infos`` report."""
    device = tokens.device
    queries, success = _queries_and_success(infos, tokens.shape[0])
    return Rollout(
        context,
        tokens,
        torch.from_numpy(rewards).to(device),
        probs,
        generated,
        torch.from_numpy(success).to(device),
        queries,
        table,
    )


def _queries_and_success(infos: list[dict[str, Any]], batch: int) -> tuple[int, np.ndarray]:
    """The reward queries the steps' ``infos`` report in all, and ``(B,)`` whether a row's episode ended
    in success at some step (Gymnasium's vector info layout: a value array and its ``_`` mask per key).
    Each key's arrays are stacked once, ``(steps, B)``, and reduced in one pass (a loop of small numpy
    calls per step cost about ten times as much)."""
    counts = [info["reward_queries"] for info in infos if "reward_queries" in info]
    queries = int(np.sum(counts, dtype=np.int64)) if counts else 0
    reports = [info for info in infos if "is_success" in info]
    if not reports:
        return queries, np.zeros(batch, dtype=bool)
    verdicts = np.array([info["is_success"] for info in reports], dtype=bool)
    verdicts &= np.array([info["_is_success"] for info in reports], dtype=bool)
    return queries, np.logical_or.reduce(verdicts, axis=0)


def _sample_from_table(
    table: torch.Tensor,
    previous: torch.Tensor | None,
    uniforms: torch.Tensor,
    tokens: torch.Tensor | None = None,
    first_column: int = 0,
) -> np.ndarray:
    """Every step's tokens from a ``MarkovPolicy``'s ``(B, k + 1, k)`` table, by inverting the CDF row of
    each row's previous token at its ``(steps, B, 1)`` uniforms: ``(steps, B)`` int64, step by step as the
    env will take them; also written into columns ``first_column, ...`` of ``tokens`` ``(B, N)`` if given.

    On the CPU a compiled loop draws them (``agents.policy.kernels.sample_from_table``); elsewhere
    ``_sample_from_table_torch``: both give the same tokens.
    """
    batch, _, k = table.shape
    if table.device.type == "cpu" and table.dtype == torch.float32:
        first_row = torch.full((batch,), k) if previous is None else previous
        out = np.empty((batch, len(uniforms)), dtype=np.int64) if tokens is None else tokens.numpy()
        return kernels.sample_from_table(table.numpy(), first_row.numpy(), uniforms[:, :, 0].numpy(), out, first_column)
    planned = _sample_from_table_torch(table, previous, uniforms)
    if tokens is not None:
        tokens[:, first_column : first_column + len(planned)] = torch.as_tensor(planned, device=tokens.device).T
    return planned


def _sample_from_table_torch(table: torch.Tensor, previous: torch.Tensor | None, uniforms: torch.Tensor) -> np.ndarray:
    """``_sample_from_table`` with torch operations (any device).

    A tight loop of two lookups per step, before the env runs, keeps the table in cache. A token of
    probability 0 is never drawn: from each row's last token of positive probability on, the CDF is set to
    inf, so a uniform past the rounded total picks that token, and the zero tokens after it get empty
    intervals [inf, inf) (those before it already have empty ones).
    """
    batch, rows, k = table.shape
    cdf = table.cumsum(dim=-1).reshape(-1, k)
    cdf[:, -1] = torch.inf
    zero_last = (table[..., -1] == 0).reshape(-1).nonzero().squeeze(1)
    if len(zero_last):  # rare (a softmax gives exact zeros only on underflow): only those rows pay
        positive = table.reshape(-1, k).index_select(0, zero_last) > 0
        last_positive = k - 1 - positive.flip(-1).to(torch.int8).argmax(dim=-1, keepdim=True)
        beyond = torch.arange(k, device=table.device) >= last_positive
        cdf[zero_last] = cdf.index_select(0, zero_last).masked_fill(beyond, torch.inf)
    offsets = torch.arange(batch, device=table.device) * rows
    row = offsets + (k if previous is None else previous)
    planned = torch.empty(len(uniforms), batch, dtype=torch.int64, device=table.device)
    for step, uniform in enumerate(uniforms):
        torch.searchsorted(cdf.index_select(0, row), uniform, right=True, out=planned[step].unsqueeze(1))
        row = offsets + planned[step]
    return planned.cpu().numpy()


def sample_tokens(probs: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """One token per row of ``(B, k)`` probabilities by inverting the CDF at ``(B, 1)`` uniforms: ``(B,)``."""
    cdf = probs.cumsum(dim=-1)
    chosen = torch.searchsorted(cdf, uniform * cdf[:, -1:], right=True).squeeze(-1)
    return chosen.clamp(max=probs.shape[-1] - 1)


def _is_markov(policy: AutoregressivePolicy) -> TypeGuard[MarkovPolicy]:
    return hasattr(policy, "transition_table") and bool(getattr(policy, "is_markov", True))


def _reads_prefix(policy: AutoregressivePolicy) -> TypeGuard[PrefixConditioned]:
    return "prefix" in inspect.signature(policy.begin).parameters


def _device_of(policy: AutoregressivePolicy) -> torch.device:
    device = getattr(policy, "device", None)
    members = getattr(policy, "policies", None)  # a mixture: its members' device
    if device is None and members:
        device = getattr(members[0], "device", None)
    return device if device is not None else torch.device("cpu")
