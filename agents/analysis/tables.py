"""Tables and summary events shared by the experiments: a CSV with one row per record, and TensorBoard
curves drawn from an experiment's summary (one events folder per curve)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter


def write_table(path: Path, rows: list[dict[str, Any]]) -> None:
    """A CSV with one row per dict (columns: the keys of the first row), written whole."""
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)


def write_series_events(path: Path, series: dict[str, dict[str, list[Any]]], x_key: str, tag: str) -> None:
    """TensorBoard events, one folder per curve under ``path``: each curve's median queries (and its
    reference rates) with ``x_key`` as the step (scaled to an integer where it is a real number)."""
    shutil.rmtree(path, ignore_errors=True)  # redrawn from the runs on every call
    for name, curve in series.items():
        events = SummaryWriter(str(path / name))
        for index, x in enumerate(curve[x_key]):
            step = int(x) if float(x).is_integer() else int(round(1000 * float(x)))
            for key, values in curve.items():
                if key != x_key and isinstance(values, list) and values[index] is not None:
                    events.add_scalar(f"{tag}/{key}", float(values[index]), step)
        events.close()
