"""TensorBoard comparison views, read back as TensorBoard reads them: HParams sessions, curves against reward
queries (once each across a resume), custom-scalars layouts and figures as images."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata

import seqreward_env  # noqa: F401
from agents.experiment.loop import train
from agents.experiment.runs import Run, read_metrics
from agents.experiment.tensorboard import flatten_config, log_figure, write_layout
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.policy import LinearPolicy

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
