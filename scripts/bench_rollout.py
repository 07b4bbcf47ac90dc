"""Benchmark of the transformer's rollout: tokens per second of a PG step (the paper's PG through the env:
rollout, reward, update) with the key/value cache against the same step recomputing the whole prefix at
every token (the honest naive reference: the same network, env, sampling and update, each token's logits
from one causal pass over the prefix written so far), timed interleaved in one run; and the rollout alone
beside ``transformers``' ``generate`` (sampling, its own KV cache) on a Llama-style model of the same
width, depth, heads and vocabulary, where ``transformers`` is installed (the column is left out otherwise).

Before timing, the cached and the recomputed next-token probabilities of one rollout are checked equal.
Prints one table; ratios are within the run (the machine's load moves both sides alike).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

import seqreward_env  # noqa: F401  (registers the ids)
from agents.common.config_checks import ConfigError
from agents.common.threads import limit_threads
from agents.experiment.cli import Script, parse_command_line
from agents.experiment.settings import check_task_sizes
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.choice import make_policy
from agents.policy.evaluation import PolicyEvaluator
from agents.policy.network_policy import NetworkPolicy
from agents.policy.networks import NetworkSizes
from agents.policy.rollout import rollout
from scripts.common.settings import ResponseLength
from seqreward_env import SequenceTask, SequenceVectorEnv


class RecomputedPrefix(NetworkPolicy):
    """The same network without a cache: each next-token distribution is the last position of a full
    teacher-forced causal pass over the context and the tokens written so far."""

    def begin(self, contexts: torch.Tensor, prefix: torch.Tensor | None = None) -> dict[str, Any]:
        if prefix is not None and prefix.shape[1] > 0:
            raise ValueError("the recomputing reference starts from an empty prefix")
        return {"contexts": contexts.to(self.dtype), "tokens": []}

    def next_probs(self, cache: Any, previous: torch.Tensor | None) -> torch.Tensor:
        if previous is not None:
            cache["tokens"].append(previous)
        written = cache["tokens"]
        placeholder = torch.zeros(cache["contexts"].shape[0], 1, dtype=torch.int64, device=self.device)
        tokens = torch.cat([torch.stack(written, dim=1), placeholder], dim=1) if written else placeholder
        logits = self.module(cache["contexts"], tokens)[:, -1]  # position i sees tokens[:, :i] only
        return torch.softmax(logits, dim=-1)


def timed_median(functions: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Each function's median time in seconds over ``repeats`` rounds, the functions interleaved within a
    round (after one warm-up call each), so that the machine's load falls on all of them alike."""
    for function in functions.values():
        function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def llama_generate(task: SequenceTask, sizes: NetworkSizes, batch: int) -> Callable[[], Any] | None:
    """``generate`` of a Llama-style causal LM of the transformer's sizes (vocabulary k + 1: a start token
    stands in for the context), sampling ``N`` tokens for ``batch`` rows with its KV cache; None without
    ``transformers``."""
    try:
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError:
        return None
    config = LlamaConfig(
        vocab_size=task.vocab_size + 1,
        hidden_size=sizes.hidden,
        intermediate_size=4 * sizes.hidden,
        num_hidden_layers=sizes.layers,
        num_attention_heads=sizes.heads,
        num_key_value_heads=sizes.heads,
        max_position_embeddings=task.seq_len + 1,
        bos_token_id=task.vocab_size,
        eos_token_id=None,
        pad_token_id=task.vocab_size,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    start = torch.full((batch, 1), task.vocab_size, dtype=torch.int64)
    attention = torch.ones_like(start)

    def generate() -> Any:
        with torch.no_grad():
            return model.generate(
                input_ids=start,
                attention_mask=attention,
                do_sample=True,
                max_new_tokens=task.seq_len,
                min_new_tokens=task.seq_len,
                top_k=0,
                use_cache=True,
            )

    return generate


def check_equal(task: SequenceTask, cached: NetworkPolicy, recomputed: RecomputedPrefix, batch: int) -> float:
    """The largest difference between the cached and the recomputed next-token probabilities along one
    sampled rollout of ``batch`` rows (they must agree to float tolerance)."""
    contexts = torch.as_tensor(task.test_contexts(batch))
    states = (cached.begin(contexts), recomputed.begin(contexts))
    previous, largest = None, 0.0
    generator = torch.Generator().manual_seed(0)
    for _ in range(task.seq_len):
        probs = [policy.next_probs(state, previous) for policy, state in zip((cached, recomputed), states, strict=True)]
        largest = max(largest, float((probs[0] - probs[1]).abs().max()))
        previous = torch.multinomial(probs[0], 1, generator=generator).squeeze(1)
    return largest


@dataclass(frozen=True)
class BenchRolloutSettings(ResponseLength):
    """Settings of the rollout benchmark."""

    batch: int = 1024
    """Rows per PG step (and per generate call)."""
    seq_len: int = 32
    vocab_size: int = 32
    context_dim: int = 32
    hidden: int = 32
    """Transformer width."""
    layers: int = 2
    """Transformer blocks."""
    heads: int = 2
    """Attention heads (must divide --hidden)."""
    repeats: int = 5
    """Timed rounds (the median is reported)."""
    threads: int = 1
    """Torch threads."""

    def check(self) -> None:
        super().check()
        check_task_sizes(self.task(), self.batch, "batch")
        try:
            NetworkSizes(self.hidden, self.layers, self.heads)
        except ValueError as error:
            raise ConfigError(f"--hidden / --layers / --heads: {error}", "heads") from None


SCRIPT = Script("bench_rollout", __doc__ or "", BenchRolloutSettings)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_command_line(SCRIPT, argv)[0]
    limit_threads(args.threads)
    shape = {"seq_len": args.seq_len, "vocab_size": args.vocab_size, "context_dim": args.context_dim}
    task = SequenceTask(**shape, num_components=args.vocab_size, reward="process")
    sizes = NetworkSizes(args.hidden, args.layers, args.heads)
    cached = make_policy("transformer", task, sizes, seed=0)
    assert isinstance(cached, NetworkPolicy)
    with torch.no_grad():  # a trained-looking head: the uniform start would make every comparison trivial
        head = cached.module.head
        assert isinstance(head, torch.nn.Linear)
        head.weight.copy_(torch.randn(head.weight.shape, generator=torch.Generator().manual_seed(0)))
    recomputed = RecomputedPrefix(cached.copy().module, task.context_dim, task.vocab_size, cached.architecture)
    difference = check_equal(task, cached, recomputed, 64)
    if difference > 1e-5:
        raise AssertionError(f"cached and recomputed probabilities differ by {difference:.3g}")
    evaluator = PolicyEvaluator(task, 8)
    learners = {}
    for name, policy in (("cached", cached), ("recomputed", recomputed)):
        envs = SequenceVectorEnv(num_envs=args.batch, task=task)
        learners[name] = PaperPG(envs, policy, PaperPGConfig(), 0, evaluator)
    generator = torch.Generator().manual_seed(1)
    functions: dict[str, Callable[[], Any]] = {}
    for name, learner in learners.items():
        functions[f"PG step, {name}"] = partial(learner.train_step, 0)
    for name, learner in learners.items():
        functions[f"rollout, {name}"] = partial(rollout, learner.envs, learner.policy, generator)
    generate = llama_generate(task, sizes, args.batch)
    if generate is not None:
        functions["rollout, transformers generate"] = generate
    seconds = timed_median(functions, args.repeats)
    tokens = args.batch * args.seq_len
    print(
        f"batch {args.batch}, N = {args.seq_len}, k = {args.vocab_size}, d = {args.context_dim}; transformer "
        f"{args.hidden} wide, {args.layers} block(s), {args.heads} heads; {args.threads} thread(s); median of "
        f"{args.repeats}; cached and recomputed probabilities agree to {difference:.1e}"
    )
    rates = {name: tokens / value for name, value in seconds.items()}
    for name, rate in rates.items():
        print(f"  {name:<34} {seconds[name] * 1000:9.1f} ms  {rate:12,.0f} tokens/s")
    print(f"KV cache over recomputing the prefix: PG step {rates['PG step, cached'] / rates['PG step, recomputed']:.2f}x, "
          f"rollout {rates['rollout, cached'] / rates['rollout, recomputed']:.2f}x")  # fmt: skip
    if generate is None:
        print("transformers is not installed: no generate column")
    else:
        ratio = rates["rollout, cached"] / rates["rollout, transformers generate"]
        print(f"our cached rollout (through the env) over transformers' generate: {ratio:.2f}x")
    return rates


if __name__ == "__main__":
    main()
