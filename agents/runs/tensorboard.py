"""TensorBoard views for comparing runs: HParams sessions (config and final metrics), learning curves
against reward queries, custom-scalars layouts that put several runs on one chart, and figures as images.

Every run folder's ``tb/`` holds its step-keyed scalars (written by ``agents.runs.folder.Run``); this module adds

- ``tb/by_queries/``: the main learning curves again, with the reward queries spent so far as the step
  (the currency of the theory in "Post-Training with Policy Gradients: Optimality and the Base Model
  Barrier", arXiv 2603.06957), under ``by_queries/<key>``;
- ``tb/by_step/``: the same curves against the run's own step, under ``by_step/<key>``; like
  ``by_queries`` only runs that query a reward write them, so a chart on them leaves pre-training out;
- ``tb/hparams/``: one HParams session, the run's config flattened to hyperparameters (seeds exact, as
  text; the columns that tell runs apart first) and its final evaluation as ``final/<key>`` scalars, so
  the HParams dashboard tabulates the runs of a sweep;

and, per experiment folder, ``tb_layout/`` (a custom-scalars layout) and ``tb_figures/<name>/`` (the
experiment's PNG figure as an image summary).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

import gymnasium as gym
import numpy as np
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summaries

QUERIES_KEY = "train/reward_queries"
BY_QUERIES = "by_queries"
BY_STEP = "by_step"
HPARAMS = "hparams"
LAYOUT = "tb_layout"
# Doubles hold every integer up to 2**53 exactly; HParams stores numbers as doubles.
EXACT_INTEGERS = 2**53
# A folder holding one seed of a setting, as the experiment scripts name them: seed0, seed1, ...
SEED_FOLDER = re.compile(r"seed(\d+)")
FIGURES = "tb_figures"
# The learning curves worth reading against reward queries (the ones a run logs among them).
QUERY_CURVES = (
    "eval/test_error",
    "eval/greedy_test_error",
    "eval/off_support_likelihood",
    "eval/mean_token_probability",
    "eval/likelihood_quantile",
    "eval/token_likelihood_quantile",
    "train/reward",
    "train/success_rate",
    "train/mistakes",
)


class _CurveSeries:
    """One writer of ``<prefix>/<key>`` scalars under ``<tb>/<prefix>``, its step a record's field
    (``step_key``), for the records that carry ``train/reward_queries``.

    A run resumed from a checkpoint passes the records it kept: the events written after the last kept
    step are purged, as ``Run`` purges its step-keyed events, so nothing appears twice.
    """

    def __init__(self, path: Path, step_key: str, kept_records: Sequence[Mapping[str, Any]], *, resumed: bool) -> None:
        self.path, self.step_key = path, step_key
        counted = [r for r in kept_records if isinstance(r.get(QUERIES_KEY), (int, float))]
        steps = [int(r[step_key]) for r in counted if isinstance(r.get(step_key), (int, float))]
        self.purge_step = max(steps) + 1 if resumed and steps else None
        self.writer: SummaryWriter | None = None
        self._written: tuple[int, set[str]] = (-1, set())

    def log(self, record: Mapping[str, Any]) -> None:
        """Write the record's curves of ``QUERY_CURVES`` at its step (a tag already written at that step, by
        a training record and an evaluation at the same update, is written once)."""
        queries, step = record.get(QUERIES_KEY), record.get(self.step_key)
        if not _is_number(queries) or not _is_number(step):
            return
        if self._written[0] != int(step):
            self._written = (int(step), set())
        written = self._written[1]
        for key in QUERY_CURVES:
            value = record.get(key)
            if key in written or not _is_number(value) or not math.isfinite(value):
                continue
            written.add(key)
            if self.writer is None:
                self.writer = SummaryWriter(str(self.path), purge_step=self.purge_step)
            self.writer.add_scalar(f"{self.path.name}/{key}", value, int(step))

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class QuerySeries:
    """The learning curves of a run that queries a reward, twice: ``by_queries/<key>`` (step = reward
    queries so far) under ``<tb>/by_queries`` and ``by_step/<key>`` (step = the run's own step, a PG step for
    the PG learners) under ``<tb>/by_step``.

    Only records that carry ``train/reward_queries`` are written, so runs without a reward (pre-training)
    write neither: a custom-scalars chart on ``by_step/...`` draws the reward-trained runs of an
    experiment folder and never its pre-training run, whose ``eval/...`` tags are the same. A run resumed
    from a checkpoint passes the records it kept (see ``_CurveSeries``).
    """

    def __init__(self, tb_dir: str | Path, kept_records: Sequence[Mapping[str, Any]], *, resumed: bool) -> None:
        self.series = tuple(
            _CurveSeries(Path(tb_dir) / name, step_key, kept_records, resumed=resumed)
            for name, step_key in ((BY_QUERIES, QUERIES_KEY), (BY_STEP, "step"))
        )

    def log(self, record: Mapping[str, Any]) -> None:
        for series in self.series:
            series.log(record)

    def flush(self) -> None:
        for series in self.series:
            series.flush()

    def close(self) -> None:
        for series in self.series:
            series.close()


def _is_number(value: object) -> TypeGuard[int | float]:
    """An int or a float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, bool | int | float | str]:
    """A nested config as HParams values: keys joined with ``.``; numbers, booleans and strings kept;
    None, lists and anything else as their JSON (or ``str``) text.

    HParams stores numbers as doubles, which hold integers exactly only up to 2**53: a seed (any key whose
    last part ends in ``seed``) is written as the text of its integer (or ``null``), so that every digit
    of a 63-bit seed is kept and the column has one type across runs, and so is any other integer beyond
    2**53."""
    flat: dict[str, bool | int | float | str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, name + "."))
        elif str(key).endswith("seed") and (value is None or (isinstance(value, int) and not isinstance(value, bool))):
            flat[name] = json.dumps(value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > EXACT_INTEGERS:
            flat[name] = str(value)
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = json.dumps(value, default=str)
    return flat


def hparams_of(config: Mapping[str, Any], run_dir: str | Path) -> dict[str, bool | int | float | str]:
    """The HParams hyperparameters of a run: ``flatten_config(config)`` with the columns that tell runs
    apart renamed to capitalised names, which the dashboard sorts before the lower-case config keys and
    shows by default (it ticks the first five of the columns whose values differ, in name order):

    - ``Learner`` (the job's ``learner``), ``Policy`` (``policy.name``), ``Seed`` (``seed``, as text),
      ``Env id`` (``task.env_id``, ``null`` for a task given by its keywords);
    - ``Reward``: ``outcome`` or ``process`` (the task's keyword, else the registered id's), ``none`` for a
      task without one (pre-training's);
    - ``Seed index``: ``i`` of the nearest ``seed<i>`` folder of ``run_dir``, the index under which the
      experiment scripts keep a setting's seeds (absent when no folder is so named).

    Keys absent from ``config`` give no column. Hashes and paths (``evaluation.tracked``, ``base_model``)
    keep their config names, so they sort after these and start hidden."""
    flat = flatten_config(config)
    columns: dict[str, bool | int | float | str] = {}
    for key, column in (("learner", "Learner"), ("policy.name", "Policy"), ("seed", "Seed"), ("task.env_id", "Env id")):
        if isinstance(flat.get(key), str):
            columns[column] = flat.pop(key)
    task = config.get("task")
    if isinstance(task, Mapping):
        columns["Reward"] = _reward_of(task)
    index = next((m for part in reversed(Path(run_dir).parts) if (m := SEED_FOLDER.fullmatch(part))), None)
    if index is not None:
        columns["Seed index"] = int(index.group(1))
    return {**columns, **flat}


def _reward_of(task: Mapping[str, Any]) -> str:
    """``outcome``, ``process`` or ``none``: a task record's ``keywords["reward"]``, else that of the
    registered ``env_id``'s keywords."""
    keywords = task.get("keywords")
    if isinstance(keywords, Mapping) and isinstance(keywords.get("reward"), str):
        return str(keywords["reward"])
    env_id = task.get("env_id")
    if isinstance(env_id, str):
        try:
            reward = gym.spec(env_id).kwargs.get("reward")
        except gym.error.Error:
            reward = None
        if isinstance(reward, str):
            return reward
    return "none"


def final_metrics(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The run's last evaluation (every finite scalar ``eval/...`` of the last record holding
    ``eval/test_error``, else of the last record with any ``eval/`` key), the reward queries it had
    spent and its step, as ``final/<key>``. Empty if the run never evaluated."""
    evaluations = [r for r in records if "eval/test_error" in r] or [
        r for r in records if any(k.startswith("eval/") for k in r)
    ]
    if not evaluations:
        return {}
    last = evaluations[-1]
    metrics = {
        f"final/{key}": float(value)
        for key, value in last.items()
        if key.startswith("eval/")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    }
    queries = [r[QUERIES_KEY] for r in records if isinstance(r.get(QUERIES_KEY), (int, float))]
    if queries:
        metrics[f"final/{QUERIES_KEY}"] = float(max(queries))
    metrics["final/step"] = float(last["step"])
    return metrics


def log_hparams(
    tb_dir: str | Path, config: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> dict[str, float]:
    """Write one HParams session under ``<tb_dir>/hparams`` (replacing any earlier one, so a resumed or
    re-opened run counts once): ``hparams_of(config, <the run folder>)`` as hyperparameters and ``final_metrics(records)``
    as its metrics (booleans become 1 and 0). No experiment summary is written: the dashboard then takes the union of every
    session's hyperparameters, so runs of different learners share one table. Returns the metrics."""
    path = Path(tb_dir) / HPARAMS
    shutil.rmtree(path, ignore_errors=True)
    metrics = final_metrics(records)
    _, start, end = hparams_summaries(hparams_of(config, Path(tb_dir).parent), metrics)
    writer = SummaryWriter(str(path))
    file_writer = writer._get_file_writer()
    file_writer.add_summary(start)
    step = int(metrics.get("final/step", 0))
    for key, value in metrics.items():
        writer.add_scalar(key, value, step)
    file_writer.add_summary(end)
    writer.close()
    return metrics


def write_layout(run_dir: str | Path, charts: Mapping[str, Mapping[str, Sequence[str]]]) -> Path:
    """A custom-scalars layout for an experiment folder: ``charts[category][title]`` is a list of tag
    regular expressions, drawn as one multi-line chart (every run whose tags match appears on it, e.g.
    ORM and PRM, or every method). Written to ``<run_dir>/tb_layout`` (replaced on each call)."""
    if not charts or not all(charts.values()):
        raise ValueError(f"charts must map categories to non-empty {{title: [tag regex, ...]}}, got {charts!r}")
    path = Path(run_dir) / LAYOUT
    shutil.rmtree(path, ignore_errors=True)
    layout = {
        category: {title: ["Multiline", list(tags)] for title, tags in by_title.items()}
        for category, by_title in charts.items()
    }
    writer = SummaryWriter(str(path))
    writer.add_custom_scalars(layout)
    writer.close()
    return path


def log_figure(run_dir: str | Path, png: str | Path, tag: str | None = None) -> Path:
    """The PNG figure ``png`` as an image summary (tag ``figures/<file stem>`` unless given) under
    ``<run_dir>/tb_figures/<stem>`` (replaced on each call, so a redrawn figure appears once)."""
    png = Path(png)
    if png.suffix.lower() != ".png" or not png.is_file():
        raise ValueError(f"png must be an existing .png file, got {str(png)!r}")
    from PIL import Image

    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))  # (H, W, 3) uint8
    path = Path(run_dir) / FIGURES / png.stem
    shutil.rmtree(path, ignore_errors=True)
    writer = SummaryWriter(str(path))
    writer.add_image(tag or f"figures/{png.stem}", pixels, 0, dataformats="HWC")
    writer.close()
    return path


def experiment_views(run_dir: str | Path, charts: Mapping[str, Mapping[str, Sequence[str]]], *figures: Path) -> None:
    """An experiment's TensorBoard extras in one call: its layout and each of its figures."""
    write_layout(run_dir, charts)
    for figure in figures:
        log_figure(run_dir, figure)


# The paper's Figure 1 in TensorBoard: its ORM and PRM runs (and any seeds of them) share each chart; the
# tags are ones only the PG runs write, so the pre-training run (whose own curves are eval/...) is not drawn.
ORM_PRM_CHARTS = {
    "ORM against PRM": {
        "test error against PG step": [f"^{BY_STEP}/eval/test_error$"],
        "off-support likelihood against PG step": [f"^{BY_STEP}/eval/off_support_likelihood$"],
        "test error against reward queries": [f"^{BY_QUERIES}/eval/test_error$"],
        "off-support likelihood against reward queries": [f"^{BY_QUERIES}/eval/off_support_likelihood$"],
    }
}
