"""Command lines generated from config dataclasses with ``tyro``: one flag per field, its help from the field's
docstring, checked by the config before any work; and the run folder of an experiment (``--run-dir``,
``--fresh``, its marker file)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import tyro

from agents.experiment.run_files import (
    RunFolderError,
    atomic_write_json,
    atomic_write_text,
    clear_run_folder,
    only_names,
)
from agents.experiment.threads import limit_threads


@dataclasses.dataclass(frozen=True)
class Experiment:
    """What an experiment script declares; ``run_experiment`` does the rest of its command line.

    ``run(config, run_dir, show_progress=...)`` runs (resuming what ``run_dir`` holds) and returns a
    JSON-ready summary; ``describe(summary)`` is the text printed at the end; ``outputs`` the files
    ``run`` writes besides ``<name>.json``; ``folders`` the other entries it writes in ``run_dir`` (what
    ``--fresh`` removes, with the outputs and the marker ``experiment.json``).
    """

    name: str
    description: str
    config_class: type
    quick: Any
    check: Callable[[Any], None]
    run: Callable[..., dict[str, Any]]
    describe: Callable[[dict[str, Any]], str]
    outputs: tuple[str, ...]
    quick_help: str = "a small setting that runs in a few minutes"
    folders: tuple[str, ...] = ("runs",)

    def written(self) -> tuple[str, ...]:
        """Every entry the experiment writes directly in its run folder (the marker aside)."""
        return only_names((*self.outputs, f"{self.name}.json", *self.folders))


EXPERIMENT_MARKER = "experiment.json"


def mark_experiment_folder(run_dir: Path, name: str) -> None:
    """Write the marker that makes ``run_dir`` a run folder of experiment ``name``, refusing a folder that
    another experiment's marker claims."""
    run_dir.mkdir(parents=True, exist_ok=True)
    marker = run_dir / EXPERIMENT_MARKER
    if marker.exists():
        owner = json.loads(marker.read_text()).get("experiment")
        if owner != name:
            raise SystemExit(f"--run-dir {run_dir} is the run folder of the {owner!r} experiment, not of {name!r}")
        return
    atomic_write_json(marker, {"experiment": name})


def start_fresh(run_dir: Path, name: str, written: tuple[str, ...]) -> None:
    """``--fresh``: remove what the experiment ``name`` wrote in ``run_dir``; a folder that is not its run
    folder (no marker, or another experiment's) is refused with ``SystemExit`` and left intact."""
    marker = run_dir / EXPERIMENT_MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("experiment") != name:
        raise SystemExit(f"--fresh: {run_dir} is the run folder of another experiment; nothing was removed")
    try:
        clear_run_folder(run_dir, EXPERIMENT_MARKER, written)
    except RunFolderError as error:
        raise SystemExit(str(error)) from None


def command_line(
    config_class: type,
    base: Any,
    argv: list[str],
    *,
    description: str,
    prog: str | None = None,
    quick_help: str = "a small setting",
    run_dir_help: str = "run folder",
) -> tuple[Any, argparse.Namespace]:
    """Parse ``argv`` with ``tyro``: one flag per field of ``config_class`` (help from the field docstrings,
    real tuples, ``bool | None`` as None/True/False), defaults from ``base``, plus ``--quick``,
    ``--run-dir``, ``--fresh`` and ``--no-progress``. A bad flag or a value the config refuses ends the
    program, naming the flag, before any work. Returns the config and the other flags."""
    fields: list[Any] = [
        ("config", tyro.conf.OmitArgPrefixes[config_class]),  # type: ignore[valid-type,misc]
        (
            "quick",
            Annotated[bool, tyro.conf.FlagCreatePairsOff, tyro.conf.arg(help=quick_help)],
            dataclasses.field(default=False),
        ),
        ("run_dir", Annotated[Path | None, tyro.conf.arg(help=run_dir_help)], dataclasses.field(default=None)),
        (
            "fresh",
            Annotated[
                bool,
                tyro.conf.FlagCreatePairsOff,
                tyro.conf.arg(help="start over: remove what a previous run wrote in the run folder"),
            ],
            dataclasses.field(default=False),
        ),
        (
            "no_progress",
            Annotated[bool, tyro.conf.FlagCreatePairsOff, tyro.conf.arg(help="no progress bars")],
            dataclasses.field(default=False),
        ),
    ]
    command_class = dataclasses.make_dataclass("Command", fields, frozen=True)
    command = tyro.cli(command_class, args=argv, default=command_class(config=base), description=description, prog=prog)
    flags = argparse.Namespace(
        quick=command.quick, run_dir=command.run_dir, fresh=command.fresh, no_progress=command.no_progress
    )
    return command.config, flags


def parse_experiment_args(experiment: Experiment, argv: list[str] | None = None) -> tuple[Any, argparse.Namespace]:
    """The checked settings of a command line and its other flags, ``run_dir`` filled in
    (default ``runs/<name>/quick`` or ``runs/<name>/full``). ``--quick`` switches the defaults every other
    flag overrides to the experiment's quick setting."""
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    config, args = command_line(
        experiment.config_class,
        experiment.quick if quick else experiment.config_class(),
        argv,
        description=experiment.description,
        prog=f"{experiment.name}.py",
        quick_help=experiment.quick_help,
        run_dir_help=f"run folder (default runs/{experiment.name}/<setting>)",
    )
    try:
        experiment.check(config)
    except ValueError as error:
        raise SystemExit(f"{experiment.name}.py: error: {error}") from None
    args.run_dir = args.run_dir or Path("runs") / experiment.name / ("quick" if args.quick else "full")
    return config, args


def run_experiment(experiment: Experiment, argv: list[str] | None = None) -> Path:
    """Parse, run in the run folder (printed first), write ``<name>.json`` and print the summary."""
    config, args = parse_experiment_args(experiment, argv)
    limit_threads(1)  # the task's products are tiny: more BLAS threads only contend with the workers
    run_dir = args.run_dir
    if args.fresh:
        start_fresh(run_dir, experiment.name, experiment.written())
    mark_experiment_folder(run_dir, experiment.name)
    print(f"{experiment.name} run folder: {run_dir}", flush=True)
    started = time.perf_counter()
    try:
        summary = experiment.run(config, run_dir, show_progress=not args.no_progress)
    except RunFolderError as error:  # a run folder that holds another run, is in use, or holds a damaged file
        raise SystemExit(f"{experiment.name}: {error}") from None
    summary["wall_seconds"] = time.perf_counter() - started
    atomic_write_text(run_dir / f"{experiment.name}.json", json.dumps(summary, indent=1))
    print(experiment.describe(summary))
    files = ", ".join([str(run_dir / experiment.outputs[0]), *experiment.outputs[1:], f"{experiment.name}.json"])
    print(f"wrote {files} in {summary['wall_seconds']:.0f} s; TensorBoard: tensorboard --logdir {run_dir}")
    return run_dir
