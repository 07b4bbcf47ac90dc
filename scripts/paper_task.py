"""Write ``seqreward_env/data/paper_task_seed0.npz``: the official code's seed-0 teacher and test set of the
paper's Figure-1 task (drawn by ``agents.analysis.paper_task.draw_paper_task``; a test checks the shipped file
equals a fresh draw)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agents.analysis.paper_task import draw_paper_task
from agents.common.config_checks import ConfigError
from agents.experiment.cli import Script, parse_command_line
from scripts.common.settings import Settings

DEFAULT = Path(__file__).resolve().parents[1] / "seqreward_env" / "data" / "paper_task_seed0.npz"


@dataclass(frozen=True)
class PaperTaskSettings(Settings):
    """Settings of the task file writer."""

    out: str = str(DEFAULT)
    """File to write."""

    def check(self) -> None:
        if not self.out.strip() or Path(self.out).is_dir():
            raise ConfigError(f"out (--out) must name a file, got {self.out!r}", "out")


SCRIPT = Script("paper_task", __doc__ or "", PaperTaskSettings)


def main(argv: list[str] | None = None) -> Path:
    args = parse_command_line(SCRIPT, argv)[0]
    out = Path(args.out)
    arrays = draw_paper_task(0)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays._asdict())
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return out


if __name__ == "__main__":
    main()
