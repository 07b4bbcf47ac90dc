"""SB3's own scalars (``rollout/``, ``train/``, ``time/``) as TensorBoard events and ``progress.csv``, in files
that a resumed run continues: what was logged after the checkpoint is dropped and written again once."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from stable_baselines3.common.logger import CSVOutputFormat, KVWriter, Logger, TensorBoardOutputFormat
from torch.utils.tensorboard import SummaryWriter

from agents.runs.problems import file_problem

STEP_COLUMN = "time/total_timesteps"  # the environment step of each progress.csv row


def open_sb3_logger(folder: Path, num_timesteps: int) -> Logger:
    """SB3's logger writing TensorBoard events and ``progress.csv`` under ``folder``, from ``num_timesteps``
    on: what an earlier attempt logged after that step is dropped from both (hidden in TensorBoard), to be
    written again once; at 0 (a fresh start) everything earlier is."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs: list[KVWriter] = [
        ResumedTensorBoard(folder, num_timesteps + 1),
        ResumedCSV(folder / "progress.csv", num_timesteps),
    ]
    return Logger(folder=str(folder), output_formats=outputs)


class ResumedTensorBoard(TensorBoardOutputFormat):
    """SB3's TensorBoard output with a ``purge_step``: events at or after it are hidden (resume)."""

    def __init__(self, folder: Path, purge_step: int) -> None:
        self.writer = SummaryWriter(log_dir=str(folder), purge_step=purge_step)
        self._is_closed = False


class ResumedCSV(CSVOutputFormat):
    """SB3's CSV output that keeps the rows of ``progress.csv`` up to ``num_timesteps`` (all of them at 0:
    none, a fresh run) and appends after them."""

    def __init__(self, path: Path, num_timesteps: int) -> None:
        kept: list[list[str]] = []
        header: list[str] = []
        if num_timesteps and path.exists():
            rows = _read_rows(path)
            if rows and STEP_COLUMN in rows[0]:
                header, column = rows[0], rows[0].index(STEP_COLUMN)
                kept = [row for row in rows[1:] if _step(path, row, column) <= num_timesteps]
        super().__init__(str(path))  # truncates the file
        if header:
            self.file.write(",".join(header) + "\n")
            self.file.writelines(",".join(row) + "\n" for row in kept)
            self.file.flush()
            self.keys = header


REMEDY = "delete it (SB3's own log: the run goes on without its earlier rows), or start the run over with --fresh"


def _read_rows(path: Path) -> list[list[str]]:
    """The rows of SB3's ``progress.csv`` (a file that is not UTF-8 CSV is a ``RunFolderError`` naming it)."""
    try:
        with open(path, newline="", encoding="utf-8") as file:
            return list(csv.reader(file))
    except (UnicodeDecodeError, csv.Error) as error:
        raise file_problem(path, f"is not a CSV file of SB3's scalars ({error})", REMEDY) from None


def _step(path: Path, row: list[str], column: int) -> float:
    """The environment step of a row (a row without one is not kept: infinity)."""
    if column >= len(row) or not row[column]:
        return math.inf
    try:
        return int(float(row[column]))
    except ValueError:
        raise file_problem(path, f"a row has the step {row[column]!r}, not a number", REMEDY) from None
