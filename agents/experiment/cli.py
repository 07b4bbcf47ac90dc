"""Command lines generated from config dataclasses with ``tyro``: one flag per field, its help from the field's
docstring, checked by the config before any work; and the run folder of an experiment (``--run-dir``,
``--fresh``, its marker file)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import tyro

from agents.common.threads import limit_threads
from agents.runs.inputs import read_json
from agents.runs.files import (
    RunFolderError,
    atomic_write_json,
    atomic_write_text,
    clear_run_folder,
    manifest_owner,
    only_names,
    record_written,
)


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
T = TypeVar("T")


def experiment_owner(run_dir: Path) -> str | None:
    """The experiment whose marker ``run_dir`` holds (None: no marker); a damaged marker is a ``SystemExit``
    naming it."""
    marker = run_dir / EXPERIMENT_MARKER
    if not marker.exists() and not marker.is_symlink():
        return None
    try:
        owner = read_json(marker, "delete it if the folder is yours, or give --run-dir another folder").get(
            "experiment"
        )
    except RunFolderError as error:
        raise SystemExit(str(error)) from None
    if not isinstance(owner, str):
        raise SystemExit(f"{marker}: names no experiment; delete it if the folder is yours, or give --run-dir another")
    return owner


def mark_experiment_folder(run_dir: Path, name: str) -> None:
    """Write the marker that makes ``run_dir`` a run folder of experiment ``name``. Only an empty (or new)
    folder is adopted, or one whose marker says it is ``name``'s: a folder holding anything else (a user's
    files, another experiment's or a single run's folder) is refused with ``SystemExit``, untouched."""
    check_run_dir(run_dir)
    owner = experiment_owner(run_dir)
    if owner is not None and owner != name:
        raise SystemExit(f"--run-dir {run_dir} is the run folder of the {owner!r} experiment, not of {name!r}")
    if owner is None and run_dir.exists() and any(run_dir.iterdir()):
        held = sorted(path.name for path in run_dir.iterdir())
        shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
        raise SystemExit(
            f"--run-dir {run_dir}: holds files no {name} run wrote ({shown}) and nothing was changed; "
            "give a new or empty folder, or this experiment's own run folder"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    if owner is None:
        atomic_write_json(run_dir / EXPERIMENT_MARKER, {"experiment": name})
        record_written(run_dir, [run_dir / EXPERIMENT_MARKER], name)


def check_run_dir(run_dir: Path) -> None:
    """Refuse (``SystemExit``) a ``--run-dir`` that names a file."""
    if run_dir.exists() and not run_dir.is_dir():
        raise SystemExit(f"--run-dir {run_dir}: is a file, not a folder; give a folder (a new one is made)")


def start_fresh(run_dir: Path, name: str, written: tuple[str, ...]) -> None:
    """``--fresh``: remove what the experiment ``name`` wrote in ``run_dir``; a folder that is not its run
    folder (no marker, or another experiment's) is refused with ``SystemExit`` and left intact."""
    check_run_dir(run_dir)
    owner = experiment_owner(run_dir)
    if owner is not None and owner != name:
        raise SystemExit(f"--fresh: {run_dir} is the run folder of another experiment; nothing was removed")
    try:
        kept = clear_run_folder(run_dir, name, written)
    except RunFolderError as error:
        raise SystemExit(str(error)) from None
    if kept:
        shown = ", ".join(str(path.relative_to(run_dir)) for path in kept[:5]) + (", ..." if len(kept) > 5 else "")
        print(f"--fresh: kept {len(kept)} files no {name} run wrote (or changed since): {shown}", flush=True)
        atomic_write_json(run_dir / EXPERIMENT_MARKER, {"experiment": name})  # still this experiment's folder
        record_written(run_dir, [run_dir / EXPERIMENT_MARKER], name)


@contextmanager
def experiment_folder(run_dir: Path, name: str, written: tuple[str, ...], *, fresh: bool) -> Iterator[None]:
    """The run folder of experiment ``name`` around its work: ``--fresh`` first (``start_fresh``), the folder
    adopted and marked (``mark_experiment_folder``), a ``RunFolderError`` of the work turned into a one-line
    ``SystemExit``, and what the experiment wrote under ``written`` recorded in its manifest, also when the
    work is interrupted."""
    if fresh:
        start_fresh(run_dir, name, written)
    mark_experiment_folder(run_dir, name)
    started_ns = time.time_ns()
    try:
        yield
    except RunFolderError as error:  # a folder that holds another run, is in use, or holds a damaged file
        raise SystemExit(f"{name}: {error}") from None
    finally:
        record_outputs(run_dir, name, written, started_ns)


def record_outputs(run_dir: Path, name: str, written: tuple[str, ...], since_ns: int) -> None:
    """List in ``run_dir``'s manifest the marker and every file under the entries ``written`` that the
    experiment ``name`` wrote, those modified since ``since_ns`` (``time.time_ns()`` when it started; folders with
    their own manifest, the runs, list theirs)."""
    since_ns -= 50_000_000  # file times come from a coarse clock that may lag time.time_ns() by a tick
    paths: list[Path] = [run_dir / EXPERIMENT_MARKER]
    pending = [run_dir / name for name in written]
    while pending:
        path = pending.pop()
        if path.is_symlink():
            continue
        if path.is_file() and path.stat().st_mtime_ns >= since_ns:
            paths.append(path)
        elif path.is_dir() and manifest_owner(path) != "run":  # a run's folder lists its own files
            pending.extend(path.iterdir())
    record_written(run_dir, paths, name)


def parse_settings(settings_class: type[T], argv: list[str] | None, *, description: str, prog: str) -> T:
    """The settings dataclass ``settings_class`` from a command line (``tyro``: one flag per field, its help
    from the field's docstring), checked by its ``__post_init__`` before any work: a bad flag or value ends the
    program naming the flag. The one way every script parses its flags."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return tyro.cli(settings_class, args=argv, description=description, prog=prog)


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
        ("run_dir", Annotated[str | None, tyro.conf.arg(help=run_dir_help)], dataclasses.field(default=None)),
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
    if command.run_dir is not None and not command.run_dir.strip():
        raise SystemExit(f"{prog or 'error'}: --run-dir must name a folder, got {command.run_dir!r}")
    run_dir = None if command.run_dir is None else Path(command.run_dir)
    if run_dir is not None and run_dir.exists() and not run_dir.is_dir():
        raise SystemExit(f"{prog or 'error'}: --run-dir {run_dir}: is a file, not a folder; give a folder")
    flags = argparse.Namespace(
        quick=command.quick, run_dir=run_dir, fresh=command.fresh, no_progress=command.no_progress
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
    with experiment_folder(run_dir, experiment.name, experiment.written(), fresh=args.fresh):
        print(f"{experiment.name} run folder: {run_dir}", flush=True)
        started = time.perf_counter()
        summary = experiment.run(config, run_dir, show_progress=not args.no_progress)
        summary["wall_seconds"] = time.perf_counter() - started
        atomic_write_text(run_dir / f"{experiment.name}.json", json.dumps(summary, indent=1))
    print(experiment.describe(summary))
    files = ", ".join([str(run_dir / experiment.outputs[0]), *experiment.outputs[1:], f"{experiment.name}.json"])
    print(f"wrote {files} in {summary['wall_seconds']:.0f} s; TensorBoard: tensorboard --logdir {run_dir}")
    return run_dir
