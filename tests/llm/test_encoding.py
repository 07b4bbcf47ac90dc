"""The canonical prompt encoding: lossless on the discrete ids, a measured ceiling on the real-valued ones, and
the tokenizer agreeing with it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from agents.llm import PromptEncoding, encoding_ceiling
from seqreward_env import SequenceTask
from tests.llm.conftest import every_context


def test_rademacher_prompts_carry_every_context_exactly(task: SequenceTask, encoding: PromptEncoding) -> None:
    assert encoding.lossless
    every = every_context(task)
    ids = encoding.prompt_ids(every)
    assert len({tuple(row) for row in ids}) == len(every)
    np.testing.assert_array_equal(encoding.decode_contexts(ids), every)
    assert encoding_ceiling(task, encoding, every)["best_exact_match"] == 1.0


def test_answers_round_trip_and_foreign_tokens_are_marked(task: SequenceTask, encoding: PromptEncoding) -> None:
    y = task.targets(task.test_contexts(16))
    ids = encoding.response_ids(y)
    np.testing.assert_array_equal(encoding.answers(ids, task.seq_len), y)
    short = [list(ids[0][:2]), [0, *ids[1][1:]]]  # too short; a pad token in place of an answer
    got = encoding.answers(short, task.seq_len)
    assert list(got[0][2:]) == [-1, -1] and got[1][0] == -1
    with pytest.raises(ValueError, match="answers must lie in"):
        encoding.response_ids(np.array([[task.vocab_size]]))


def test_quantised_encoding_caps_exact_match_on_the_mixture_id() -> None:
    task = gym.make("seqreward/Process-v0").unwrapped.task  # type: ignore[attr-defined]
    encoding = PromptEncoding.for_task(task, bins=16)
    assert not encoding.lossless
    contexts = task.sample_contexts(np.random.default_rng(0), 20_000)
    ceiling = encoding_ceiling(task, encoding, contexts)
    # 8 mixture components with small noise: far fewer prompts than contexts, and some share a prompt but not y*
    assert ceiling["distinct_prompts"] < 2_000
    assert 0.9 < ceiling["best_exact_match"] < 1.0
    finer = encoding_ceiling(task, PromptEncoding.for_task(task, bins=64), contexts)
    assert finer["distinct_prompts"] > ceiling["distinct_prompts"]


def test_bad_inputs_name_the_argument(task: SequenceTask, encoding: PromptEncoding) -> None:
    with pytest.raises(ValueError, match="bins must be"):
        PromptEncoding.for_task(task, bins=1)
    with pytest.raises(ValueError, match="outside this lossless encoding"):
        encoding.prompt_ids(np.full((1, task.context_dim), 0.5))
    with pytest.raises(ValueError, match=r"contexts must have shape \(n, 8\)"):
        encoding.prompt_ids(np.ones((1, 3)))


def test_tokenizer_agrees_with_the_encoding(task: SequenceTask, encoding: PromptEncoding, tokenizer) -> None:
    x = task.test_contexts(5)
    y = task.targets(x)
    texts = [p + " " + r for p, r in zip(encoding.prompt_texts(x), encoding.response_texts(y), strict=True)]
    ids = np.array(tokenizer(texts)["input_ids"])
    np.testing.assert_array_equal(ids, np.concatenate([encoding.prompt_ids(x), encoding.response_ids(y)], axis=1))
    assert tokenizer.convert_ids_to_tokens(encoding.answer_ids) == encoding.answer_tokens


def test_the_env_and_agents_packages_never_import_the_llm_stack() -> None:
    code = "import sys, seqreward_env, agents; print(sorted({'transformers', 'trl', 'datasets'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_only_agents_llm_imports_the_llm_stack() -> None:
    root = Path(__file__).resolve().parents[2]
    stack = {"transformers", "trl", "datasets", "tokenizers", "accelerate", "reasoning_gym", "verifiers"}
    for path in sorted((root / "agents").rglob("*.py")) + sorted((root / "seqreward_env").rglob("*.py")):
        if (root / "agents" / "llm") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in stack and not name.startswith("agents.llm"), f"{path} imports {name}"
