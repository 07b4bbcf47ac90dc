"""SB3's own scalars (``rollout/``, ``train/``, ``time/``) as TensorBoard events and ``progress.csv``, in files
that a resumed run continues: what was logged after the checkpoint is dropped and written again once."""

from __future__ import annotations

import csv
from pathlib import Path

from stable_baselines3.common.logger import CSVOutputFormat, KVWriter, Logger, TensorBoardOutputFormat
from torch.utils.tensorboard import SummaryWriter

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
            with open(path, newline="") as file:
                rows = list(csv.reader(file))
            if rows and STEP_COLUMN in rows[0]:
                header, column = rows[0], rows[0].index(STEP_COLUMN)
                kept = [row for row in rows[1:] if row[column] and int(float(row[column])) <= num_timesteps]
        super().__init__(str(path))  # truncates the file
        if header:
            self.file.write(",".join(header) + "\n")
            self.file.writelines(",".join(row) + "\n" for row in kept)
            self.file.flush()
            self.keys = header
