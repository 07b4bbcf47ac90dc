"""Each policy kind's default learning rates: the table, how a learner resolves an unset rate from the policy
it trains, and what the experiments' ``--help`` and records say of them."""

from __future__ import annotations

import pytest

import seqreward_env  # noqa: F401
from agents.learners.group_pg import GroupPG, GroupPGConfig
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.learners.pretrain import PretrainConfig, Pretrainer
from agents.policy.choice import (
    DEFAULT_LEARNING_RATES,
    POLICIES,
    PolicyChoice,
    default_learning_rate,
    learning_rate_for,
    make_policy,
    policy_kind,
)
from agents.policy.evaluation import PolicyEvaluator
from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import NetworkPolicy
from agents.policy.networks import NetworkSizes
from scripts.figure1 import run as figure1
from scripts.figure1.jobs import learning_rates
from seqreward_env import SequenceTask, SequenceVectorEnv

TASK = {"seq_len": 4, "vocab_size": 3, "context_dim": 4, "num_components": 4}
SMALL = NetworkSizes(8, 1, 2)


def test_every_kind_has_a_rate_for_every_stage_and_the_transformer_takes_smaller_pg_steps() -> None:
    assert set(DEFAULT_LEARNING_RATES) == set(POLICIES)
    for rates in DEFAULT_LEARNING_RATES.values():
        assert set(rates) == {"pretrain", "adagrad", "sgd", "adam"} and all(rate > 0 for rate in rates.values())
    assert DEFAULT_LEARNING_RATES["linear"]["adagrad"] == 0.1  # the paper's
    assert default_learning_rate("transformer", "adagrad") < default_learning_rate("linear", "adagrad")
    with pytest.raises(ValueError, match="policy must be one of"):
        default_learning_rate("lstm", "adagrad")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        default_learning_rate("mlp", "rmsprop")


def test_the_kind_of_a_policy_object_and_an_explicit_rate_wins() -> None:
    task = SequenceTask(**TASK)
    assert policy_kind(LinearPolicy(4, 3)) == "linear"
    assert policy_kind(NetworkPolicy.from_linear(LinearPolicy(4, 3))) == "linear"
    for name in ("mlp", "transformer"):
        assert policy_kind(make_policy(name, task, SMALL)) == name
    anonymous = make_policy("mlp", task, SMALL)
    assert isinstance(anonymous, NetworkPolicy)
    with pytest.raises(ValueError, match="give the learning rate explicitly"):
        policy_kind(NetworkPolicy(anonymous.module, 4, 3))
    assert learning_rate_for(0.7, "transformer", "adagrad") == 0.7
    assert learning_rate_for(None, "transformer", "adam") == DEFAULT_LEARNING_RATES["transformer"]["adam"]


@pytest.mark.parametrize("name", POLICIES)
def test_learners_resolve_an_unset_rate_from_the_policy_they_train(name: str) -> None:
    task = SequenceTask(**TASK)
    policy = make_policy(name, task, SMALL)
    evaluator = PolicyEvaluator(task, 8)
    envs = SequenceVectorEnv(num_envs=8, task=SequenceTask(**TASK, reward="process"))
    rates = DEFAULT_LEARNING_RATES[name]
    paper = PaperPG(envs, policy, PaperPGConfig(optimizer="adam"), 0, evaluator)
    assert paper.learning_rate == rates["adam"]
    assert paper.optimizer.param_groups[0]["lr"] == rates["adam"]
    assert paper.train_step(0)["train/learning_rate"] == rates["adam"]
    assert PaperPG(envs, policy, PaperPGConfig(learning_rate=0.25), 0, evaluator).learning_rate == 0.25
    pretrainer = Pretrainer(task, policy, PretrainConfig(batch_size=4), 0, evaluator)
    assert pretrainer.optimizer.param_groups[0]["lr"] == rates["pretrain"]
    groups = SequenceVectorEnv(num_envs=4, task=SequenceTask(**TASK, reward="process"))
    group = GroupPG(groups, policy, GroupPGConfig(method="rloo", num_contexts=2, group_size=2), 0, evaluator)
    assert group.learning_rate == rates["sgd"] and group.rate.eta_max == rates["sgd"]
    envs.close()


def test_figure1_uses_and_records_the_policy_defaults_unless_given(capsys: pytest.CaptureFixture[str]) -> None:
    for name in POLICIES:
        config = figure1.Figure1Config(policy=name, optimizer="sgd")
        assert learning_rates(config) == {
            "pretrain": DEFAULT_LEARNING_RATES[name]["pretrain"],
            "pg": DEFAULT_LEARNING_RATES[name]["sgd"],
        }
        assert learning_rates(figure1.Figure1Config(policy=name, learning_rate=0.3)) == {"pretrain": 0.3, "pg": 0.3}
    with pytest.raises(SystemExit):
        figure1.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    transformer = DEFAULT_LEARNING_RATES["transformer"]
    assert f"transformer {transformer['adagrad']:g} / {transformer['sgd']:g} / {transformer['adam']:g}" in text
    mlp = DEFAULT_LEARNING_RATES["mlp"]
    assert f"mlp {mlp['adagrad']:g} / {mlp['sgd']:g} / {mlp['adam']:g}" in text


def test_a_policy_choice_resolves_its_own_defaults() -> None:
    assert (
        PolicyChoice("transformer").learning_rate(None, "pretrain") == DEFAULT_LEARNING_RATES["transformer"]["pretrain"]
    )
    assert PolicyChoice("linear").learning_rate(2.0, "sgd") == 2.0
