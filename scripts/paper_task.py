"""Write ``seqreward_env/data/paper_task_seed0.npz``: the official code's seed-0 teacher and test set of the
paper's Figure-1 task (drawn by ``agents.experiment.paper_task.draw_paper_task``; a test checks the shipped file
equals a fresh draw)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from agents.experiment.paper_task import draw_paper_task

DEFAULT = Path(__file__).resolve().parents[1] / "seqreward_env" / "data" / "paper_task_seed0.npz"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT, help="file to write")
    args = parser.parse_args(argv)
    arrays = draw_paper_task(0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays._asdict())
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return args.out


if __name__ == "__main__":
    main()
