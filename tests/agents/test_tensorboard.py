"""TensorBoard comparison views, read back as TensorBoard reads them: HParams sessions, curves against reward
queries (once each across a resume), custom-scalars layouts and figures as images."""

from __future__ import annotations

import re
from pathlib import Path

import gymnasium as gym
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import backend_context
from tensorboard.plugins.hparams import metadata as hparams_metadata

import seqreward_env  # noqa: F401
from agents.experiment.loop import train
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.runs.folder import Run, read_metrics
from agents.runs.tensorboard import ORM_PRM_CHARTS, flatten_config, log_figure, log_hparams, write_layout

STEPS, EVAL_EVERY = 12, 4
CONFIG = {"steps": STEPS, "learner": {"optimizer": "adagrad", "lr": 0.1, "clip": None}, "seeds": [1, 2], "fast": True}


def run_once(path: Path, stop_after: int | None = None) -> None:
    envs = gym.make_vec("seqreward/Process-v0", num_envs=8, copy=False)
    task = envs.unwrapped.task
    agent = PaperPG(envs, LinearPolicy.for_task(task), PaperPGConfig(), 3, LinearEvaluator(task, 16))
    run = Run(path, CONFIG)
    train(run, agent, STEPS, eval_every=EVAL_EVERY, show_progress=False, stop_after=stop_after)
    run.close()


def accumulator(path: Path) -> EventAccumulator:
    events = EventAccumulator(str(path), size_guidance={"tensors": 0, "images": 0, "scalars": 0})
    events.Reload()
    return events


def test_flatten_config_keeps_numbers_and_spells_out_the_rest() -> None:
    flat = flatten_config(CONFIG)
    assert flat == {
        "steps": STEPS,
        "learner.optimizer": "adagrad",
        "learner.lr": 0.1,
        "learner.clip": "null",
        "seeds": "[1, 2]",
        "fast": True,
    }


def test_finished_run_is_an_hparams_session_with_its_final_metrics(tmp_path: Path) -> None:
    run_once(tmp_path / "run")
    events = accumulator(tmp_path / "run" / "tb" / "hparams")
    content = events.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    assert set(content) == {hparams_metadata.SESSION_START_INFO_TAG, hparams_metadata.SESSION_END_INFO_TAG}
    start = hparams_metadata.parse_session_start_info_plugin_data(content[hparams_metadata.SESSION_START_INFO_TAG])
    assert start.hparams["learner.lr"].number_value == pytest.approx(0.1)
    assert start.hparams["learner.optimizer"].string_value == "adagrad"
    assert start.hparams["fast"].number_value == 1  # torch writes booleans as numbers
    last_eval = [r for r in read_metrics(tmp_path / "run") if "eval/test_error" in r][-1]
    final_error = events.Scalars("final/eval/test_error")
    assert len(final_error) == 1 and final_error[0].step == STEPS
    assert final_error[0].value == pytest.approx(last_eval["eval/test_error"], rel=1e-6)
    assert events.Scalars("final/train/reward_queries")[0].value == last_eval["train/reward_queries"] > 0


def test_unfinished_run_writes_no_session_until_it_finishes(tmp_path: Path) -> None:
    run_once(tmp_path / "run", stop_after=5)
    assert not (tmp_path / "run" / "tb" / "hparams").exists()
    run_once(tmp_path / "run")
    assert len(list((tmp_path / "run" / "tb" / "hparams").glob("events.out.tfevents.*"))) == 1


def test_curves_against_reward_queries_are_written_once_across_a_resume(tmp_path: Path) -> None:
    run_once(tmp_path / "straight")
    run_once(tmp_path / "resumed", stop_after=6)  # interrupted between the checkpoints at 4 and 8
    run_once(tmp_path / "resumed")
    expected = [(r["train/reward_queries"], r["eval/test_error"]) for r in read_metrics(tmp_path / "straight")
                if "eval/test_error" in r]  # fmt: skip
    assert len(expected) == STEPS // EVAL_EVERY + 1 and expected[-1][0] > expected[1][0] > 0
    for name in ("straight", "resumed"):
        events = accumulator(tmp_path / name / "tb" / "by_queries")
        series = events.Scalars("by_queries/eval/test_error")
        assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in series] == expected
        rewards = events.Scalars("by_queries/train/reward")
        assert len(rewards) == STEPS and len({e.step for e in rewards}) == STEPS


def test_layout_puts_the_given_tags_on_one_chart(tmp_path: Path) -> None:
    write_layout(tmp_path, {"ORM vs PRM": {"test error": ["eval/test_error"], "by queries": ["by_queries/eval/.*"]}})
    write_layout(tmp_path, {"ORM vs PRM": {"test error": ["eval/test_error"]}})  # replaces, never piles up
    events = accumulator(tmp_path / "tb_layout")
    [tensor] = events.Tensors("custom_scalars__config__")
    layout = layout_pb2.Layout.FromString(tensor.tensor_proto.string_val[0])
    assert [c.title for c in layout.category] == ["ORM vs PRM"]
    [chart] = layout.category[0].chart
    assert chart.title == "test error" and list(chart.multiline.tag) == ["eval/test_error"]


def test_figure_is_an_image_summary_of_the_png(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(3, 2), dpi=50)
    figure.savefig(tmp_path / "panel.png")
    plt.close(figure)
    log_figure(tmp_path, tmp_path / "panel.png")
    [image] = accumulator(tmp_path / "tb_figures" / "panel").Images("figures/panel")
    assert (image.width, image.height) == (150, 100)
    assert image.encoded_image_string[:4] == b"\x89PNG"


def test_bad_inputs_name_the_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="png must be an existing .png file"):
        log_figure(tmp_path, tmp_path / "missing.png")
    with pytest.raises(ValueError, match="charts must map"):
        write_layout(tmp_path, {"empty": {}})


# A Figure-1 folder's configs (as run_job writes them): pre-training, then PG per (seed index, reward).
BIG_SEED = 8253482976512499710  # above 2**53: a double would store 8253482976512499712
TASK = {"keywords": {"seq_len": 12, "reward_values": [-1.0, 1.0]}, "task_file": "task.npz"}


def job_config(learner: str, seed: int, env_id: str | None, **fields: object) -> dict[str, object]:
    evaluation = {"every": 10, "tracked": "7cd9907215c8687e" if learner == "paper_pg" else None}
    return {"learner": learner, "seed": seed, "policy": {"name": "linear", "hidden": 32}, "policy_seed": None,
            "task": {**TASK, "env_id": env_id}, "evaluation": evaluation, "budget": 150, "base_model": None,
            **fields}  # fmt: skip


def figure1_sessions(root: Path) -> dict[str, dict[str, bytes]]:
    """Writes the HParams sessions of a pre-training and four PG runs under ``root`` and reads them back
    as the HParams plugin does: run -> tag -> plugin content."""
    records = [{"step": 60, "eval/test_error": 0.4, "train/reward_queries": 1000}]
    configs = {"pretrain": job_config("pretrain", 4605101939047986104, None, budget=60, policy_seed=BIG_SEED)}
    for index, seed in enumerate((BIG_SEED, 4618622743726929836)):
        for name in ("orm", "prm"):
            env_id = f"seqreward/Paper{'Outcome' if name == 'orm' else 'Process'}-v1"
            configs[f"pg/seed{index}/{name}"] = job_config("paper_pg", seed, env_id, base_model="pretrain/final.pt")
    for run, config in configs.items():
        log_hparams(root / run / "tb", config, records)
    return {run: accumulator(root / run / "tb" / "hparams").PluginTagToContent(hparams_metadata.PLUGIN_NAME)
            for run in configs}  # fmt: skip


def test_hparams_keep_every_digit_of_a_seed_and_name_the_run(tmp_path: Path) -> None:
    sessions = figure1_sessions(tmp_path)
    start = hparams_metadata.parse_session_start_info_plugin_data
    pg = start(sessions["pg/seed0/prm"][hparams_metadata.SESSION_START_INFO_TAG]).hparams
    assert pg["Seed"].string_value == "8253482976512499710"
    assert pg["Seed index"].number_value == 0 and pg["policy_seed"].string_value == "null"
    assert (pg["Learner"].string_value, pg["Reward"].string_value, pg["Policy"].string_value) == (
        "paper_pg", "process", "linear")  # fmt: skip
    assert {"learner", "seed", "policy.name", "task.env_id"}.isdisjoint(pg) and pg["policy.hidden"].number_value == 32
    assert pg["Env id"].string_value == "seqreward/PaperProcess-v1"
    pretrain = start(sessions["pretrain"][hparams_metadata.SESSION_START_INFO_TAG]).hparams
    assert pretrain["policy_seed"].string_value == str(BIG_SEED) and pretrain["Reward"].string_value == "none"
    assert "Seed index" not in pretrain  # its folder names no seed
    seed1 = start(sessions["pg/seed1/orm"][hparams_metadata.SESSION_START_INFO_TAG]).hparams
    assert (seed1["Seed index"].number_value, seed1["Reward"].string_value) == (1, "outcome")


def test_hparams_dashboard_shows_the_distinguishing_columns_first(tmp_path: Path) -> None:
    """The columns TensorBoard computes from the sessions, in its order; its HParams dashboard ticks the
    first five (tensorboard 2.21: differing columns first, then by name)."""
    experiment = backend_context.Context(None)._compute_experiment_from_runs(
        None, "", False, figure1_sessions(tmp_path)
    )
    backend_context._sort_and_reduce_to_hparams_limit(experiment)
    names = [info.name for info in experiment.hparam_infos]
    assert names[:5] == ["Env id", "Learner", "Reward", "Seed", "Seed index"]  # one policy: its column does not differ
    assert names.index("evaluation.tracked") >= 5 and names.index("base_model") >= 5  # past the ticked five
    seed = next(info for info in experiment.hparam_infos if info.name == "Seed")
    assert str(BIG_SEED) in seed.domain_discrete  # a text column: every digit is kept


class NoReward:
    """A stand-in pre-training learner: it evaluates, and queries no reward."""

    def train_step(self, step: int) -> dict[str, float]:
        return {"train/loss": 1.0 / (1 + step)}

    def evaluate(self) -> dict[str, float]:
        return {"eval/test_error": 0.5}

    def state_dict(self) -> dict[str, int]:
        return {}

    def load_state_dict(self, state: dict[str, int]) -> None:
        pass


def test_figure1_charts_draw_the_pg_runs_and_never_the_pretraining(tmp_path: Path) -> None:
    """Every chart of the Figure-1 layout, matched as the custom-scalars plugin matches (a regex against each
    TensorBoard run's tags), finds the PG run's curves and none of the pre-training run's, whose own
    ``eval/test_error`` a chart on that tag would draw."""
    run = Run(tmp_path / "pretrain", {"learner": "pretrain"})
    train(run, NoReward(), total_steps=4, eval_every=2, show_progress=False)
    run.close()
    run_once(tmp_path / "pg" / "seed0" / "orm")
    write_layout(tmp_path, ORM_PRM_CHARTS)
    tags = {folder.parent.relative_to(tmp_path): set(accumulator(folder.parent).Tags()["scalars"])
            for folder in tmp_path.rglob("events.out.tfevents.*")}  # fmt: skip
    assert "eval/test_error" in tags[Path("pretrain/tb")]
    [tensor] = accumulator(tmp_path / "tb_layout").Tensors("custom_scalars__config__")
    for chart in layout_pb2.Layout.FromString(tensor.tensor_proto.string_val[0]).category[0].chart:
        drawn = {run.parts[0] for run, run_tags in tags.items() for regex in chart.multiline.tag
                 if any(re.match(regex, tag) for tag in run_tags)}  # fmt: skip
        assert drawn == ({"pg"} if "test error" in chart.title else set()), chart.title  # no off-support set here
    pg_step = accumulator(tmp_path / "pg" / "seed0" / "orm" / "tb" / "by_step").Scalars("by_step/eval/test_error")
    expected = [(r["step"], r["eval/test_error"]) for r in read_metrics(tmp_path / "pg" / "seed0" / "orm")
                if "eval/test_error" in r]  # fmt: skip
    assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in pg_step] == expected
