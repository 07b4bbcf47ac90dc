"""TensorBoard views for comparing runs: HParams sessions (config and final metrics), learning curves
against reward queries, custom-scalars layouts that put several runs on one chart, and figures as images.

Every run folder's ``tb/`` holds its step-keyed scalars (written by ``agents.experiment.runs.Run``); this module adds

- ``tb/by_queries/``: the main learning curves again, with the reward queries spent so far as the step
  (the currency of the theory in "Post-Training with Policy Gradients: Optimality and the Base Model
  Barrier", arXiv 2603.06957), under ``by_queries/<key>``;
- ``tb/hparams/``: one HParams session, the run's config flattened to hyperparameters and its final
  evaluation as ``final/<key>`` scalars, so the HParams dashboard tabulates the runs of a sweep;

and, per experiment folder, ``tb_layout/`` (a custom-scalars layout) and ``tb_figures/<name>/`` (the
experiment's PNG figure as an image summary).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summaries

QUERIES_KEY = "train/reward_queries"
BY_QUERIES = "by_queries"
HPARAMS = "hparams"
LAYOUT = "tb_layout"
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


class QuerySeries:
    """Writes ``by_queries/<key>`` scalars (step = reward queries so far) under ``<tb>/by_queries``.

    A run resumed from a checkpoint passes the records it kept: the events written after the last kept
    query count are purged, as ``Run`` purges its step-keyed events, so nothing appears twice. The
    writer opens on the first record that carries ``train/reward_queries`` (runs without the count,
    such as pre-training, write nothing here).
    """

    def __init__(self, tb_dir: str | Path, kept_records: Sequence[Mapping[str, Any]], *, resumed: bool) -> None:
        self.path = Path(tb_dir) / BY_QUERIES
        counts = [int(r[QUERIES_KEY]) for r in kept_records if isinstance(r.get(QUERIES_KEY), (int, float))]
        self.purge_step = max(counts) + 1 if resumed and counts else None
        self.writer: SummaryWriter | None = None
        self._written: tuple[int, set[str]] = (-1, set())

    def log(self, record: Mapping[str, Any]) -> None:
        """Write the record's curves of ``QUERY_CURVES`` at its ``train/reward_queries`` (a tag already
        written at that count, by a training record and an evaluation at the same step, is written once)."""
        queries = record.get(QUERIES_KEY)
        if not isinstance(queries, (int, float)) or isinstance(queries, bool):
            return
        if self._written[0] != int(queries):
            self._written = (int(queries), set())
        written = self._written[1]
        for key in QUERY_CURVES:
            value = record.get(key)
            if key in written:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                written.add(key)
                if self.writer is None:
                    self.writer = SummaryWriter(str(self.path), purge_step=self.purge_step)
                self.writer.add_scalar(f"{BY_QUERIES}/{key}", value, int(queries))

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, bool | int | float | str]:
    """A nested config as HParams values: keys joined with ``.``; numbers, booleans and strings kept;
    None, lists and anything else as their JSON (or ``str``) text."""
    flat: dict[str, bool | int | float | str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, name + "."))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = json.dumps(value, default=str)
    return flat


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
    re-opened run counts once): the flattened ``config`` as hyperparameters and ``final_metrics(records)``
    as its metrics (booleans become 1 and 0). No experiment summary is written: the dashboard then takes the union of every
    session's hyperparameters, so runs of different learners share one table. Returns the metrics."""
    path = Path(tb_dir) / HPARAMS
    shutil.rmtree(path, ignore_errors=True)
    metrics = final_metrics(records)
    _, start, end = hparams_summaries(flatten_config(config), metrics)
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


# The paper's Figure 1 in TensorBoard: its ORM and PRM runs (and any seeds of them) share each chart.
ORM_PRM_CHARTS = {
    "ORM against PRM": {
        "test error against PG step": ["eval/test_error"],
        "off-support likelihood against PG step": ["eval/off_support_likelihood"],
        "test error against reward queries": ["by_queries/eval/test_error"],
        "off-support likelihood against reward queries": ["by_queries/eval/off_support_likelihood"],
    }
}
