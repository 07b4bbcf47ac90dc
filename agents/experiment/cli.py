"""The one command-line path of every script under ``scripts/`` (``python -m scripts.<name>``): flags
generated from a settings dataclass with ``tyro`` (one flag per field, its help from the field's docstring),
checked by the settings' ``__post_init__`` before any work, a refusal printed as one line naming the flag,
the value and what is allowed; and an experiment's run folder (``--run-dir``, ``--fresh``, its lock and
its marker file)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import tyro
from filelock import FileLock, Timeout

from agents.common.threads import limit_threads
from agents.runs.files import (
    RunFolderError,
    atomic_write_json,
    atomic_write_text,
    clear_run_folder,
    manifest_owner,
    only_names,
    record_written,
)
from agents.runs.inputs import read_json

T = TypeVar("T")
EXPERIMENT_MARKER = "experiment.json"
EXPERIMENT_LOCK = "experiment.lock"  # held while a process runs the experiment in the folder


@dataclasses.dataclass(frozen=True)
class Script:
    """What a script declares for its command line (``python -m scripts.<name>``).

    ``settings`` is the settings dataclass (one flag per field); ``quick`` its small setting (``--quick``
    makes it the defaults every other flag overrides; None: the script has no ``--quick``); ``run_folder``
    the help of ``--run-dir`` (None: the script takes no run-folder flags ``--run-dir``, ``--fresh`` and
    ``--no-progress``)."""

    name: str
    description: str
    settings: type
    quick: Any = None
    quick_help: str = "a small setting"
    run_folder: str | None = None


@dataclasses.dataclass(frozen=True)
class RunFlags:
    """The flags beside the settings: ``--quick``, ``--run-dir`` (None: the script's default), ``--fresh``,
    ``--no-progress``."""

    quick: bool = False
    run_dir: Path | None = None
    fresh: bool = False
    no_progress: bool = False


def _flag(kind: Any, help_text: str, default: Any) -> tuple[Any, Any]:
    return Annotated[kind, tyro.conf.FlagCreatePairsOff, tyro.conf.arg(help=help_text)], dataclasses.field(
        default=default
    )


def _command_class(script: Script) -> type:
    """The dataclass tyro parses: the settings' fields as flat flags, then the script's other flags."""
    fields: list[Any] = [("settings", tyro.conf.OmitArgPrefixes[script.settings])]  # type: ignore[valid-type,misc,name-defined]
    if script.quick is not None:
        fields.append(("quick", *_flag(bool, script.quick_help, False)))
    if script.run_folder is not None:
        fields.append(("run_dir", Annotated[str | None, tyro.conf.arg(help=script.run_folder)], None))
        fields.append(("fresh", *_flag(bool, "start over: remove what a previous run wrote in the run folder", False)))
        fields.append(("no_progress", *_flag(bool, "no progress bars", False)))
    return dataclasses.make_dataclass("Command", fields, frozen=True)


def _one_line(report: str) -> str:
    """tyro's error report as one line: its first section (what was wrong), and the flag's usage where the
    report shows it (what is allowed). The report is a titled box whose sections are parted by rules; rich
    draws it with or without side borders, in Unicode or ASCII, depending on the stream."""
    rows = [row.strip().strip("│|╭╮╰╯").strip() for row in report.strip().splitlines()]
    sections: list[list[str]] = [[]]
    for row in rows[1:]:  # the first row is the box's title ("Value error", ...)
        if row and set(row) <= set("─- "):  # a rule between sections, or the bottom border
            sections.append([])
        elif row:
            sections[-1].append(row)
    sections = [section for section in sections if section] or [[rows[0] if rows else "bad command line"]]
    message = re.sub(r"^Error parsing (settings: )?", "", " ".join(sections[0]))
    helptext = sections[1] if len(sections) > 1 and sections[1][0] == "Argument helptext:" else []
    usage = helptext[1] if len(helptext) > 1 and helptext[1].startswith("--") else ""
    return f"{message} (allowed: {usage})" if usage else message


def parse_command_line(script: Script, argv: list[str] | None = None) -> tuple[Any, RunFlags]:
    """The checked settings of a command line and its other flags. ``--help`` prints the flags and exits 0;
    a bad flag or a value the settings refuse ends the program (exit 2) with one line naming the flag, the
    value and what is allowed, before any work. The one way every script reads its flags."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command_class = _command_class(script)
    base = script.quick if script.quick is not None and "--quick" in argv else script.settings()
    report = io.StringIO()
    try:
        with contextlib.redirect_stderr(report):
            command = tyro.cli(
                command_class,
                args=argv,
                default=command_class(settings=base),
                description=script.description,
                prog=f"python -m scripts.{script.name}",
            )
    except SystemExit as done:
        if not done.code:
            raise
        print(f"{script.name}: error: {_one_line(report.getvalue())}", file=sys.stderr)
        raise SystemExit(2) from None
    flags = RunFlags(
        quick=getattr(command, "quick", False),
        run_dir=_run_dir(script.name, getattr(command, "run_dir", None)),
        fresh=getattr(command, "fresh", False),
        no_progress=getattr(command, "no_progress", False),
    )
    return command.settings, flags


def _run_dir(name: str, given: str | None) -> Path | None:
    """``--run-dir`` as a path: an empty one, or one naming a file, is refused like any bad flag (exit 2)."""
    if given is None:
        return None
    problem = "must name a folder" if not given.strip() else ""
    if not problem and Path(given).exists() and not Path(given).is_dir():
        problem = "is a file, not a folder; give a folder"
    if problem:
        print(f"{name}: error: --run-dir {given!r} {problem}", file=sys.stderr)
        raise SystemExit(2)
    return Path(given)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """What an experiment declares in its ``settings`` module; ``run_experiment`` does the rest.

    ``config_class`` and ``quick`` are its settings and their small setting (the docstring of the module
    that defines ``config_class`` is the command line's description); ``outputs`` the files its run
    writes in the run folder (the first is named at the end), ``folders`` the other entries it writes there
    (what ``--fresh`` removes, with the outputs, ``<name>.json`` and the marker ``experiment.json``), and
    ``draw_folders`` a function of the settings naming more of them. Without ``--run-dir`` the run folder is
    ``runs/<name>/<run_dir_name>``, the name formatted with the settings' fields and ``setting`` (``quick``
    or ``full_setting``), e.g. ``"{setting}-seed{seed}"``.
    ``summary_file``: ``run_experiment`` writes the summary the run returns to ``<name>.json`` (False: the
    run writes that file itself).
    """

    name: str
    config_class: type
    quick: Any
    outputs: tuple[str, ...]
    folders: tuple[str, ...] = ("runs",)
    quick_help: str = "a small setting that runs in a few minutes"
    run_dir_name: str = "{setting}"
    full_setting: str = "full"
    draw_folders: Callable[[Any], tuple[str, ...]] | None = None
    summary_file: bool = True

    @property
    def description(self) -> str:
        """The docstring of the experiment's settings module: what ``--help`` prints first."""
        return sys.modules[self.config_class.__module__].__doc__ or ""

    @property
    def script(self) -> Script:
        """The experiment's command line: its settings, ``--quick`` and the run-folder flags."""
        return Script(
            self.name,
            self.description,
            self.config_class,
            self.quick,
            self.quick_help,
            f"run folder (default {self.run_dir_text()})",
        )

    def run_dir_text(self) -> str:
        """The default run folder as ``--help`` shows it: ``runs/figure1/<setting>-task<task_seed>-seed<seed>``."""
        return f"runs/{self.name}/" + re.sub(r"\{(\w+)\}", r"<\1>", self.run_dir_name)

    def run_dir(self, config: Any, flags: RunFlags) -> Path:
        """``--run-dir``, else ``runs/<name>/<run_dir_name>`` for these settings."""
        if flags.run_dir is not None:
            return flags.run_dir
        setting = "quick" if flags.quick else self.full_setting
        return Path("runs") / self.name / self.run_dir_name.format(setting=setting, **dataclasses.asdict(config))

    def written(self, config: Any = None) -> tuple[str, ...]:
        """Every entry the experiment writes directly in its run folder (the marker aside)."""
        more = self.draw_folders(config) if self.draw_folders is not None and config is not None else ()
        return only_names((*self.outputs, f"{self.name}.json", *self.folders, *more))


def run_experiment(
    experiment: Experiment,
    run: Callable[..., dict[str, Any]],
    describe: Callable[[dict[str, Any]], str],
    argv: list[str] | None = None,
) -> Path:
    """Parse, lock and adopt the run folder (printed first), ``run(config, run_dir, show_progress=...)``
    (which resumes what the folder holds and returns a JSON-ready summary), write ``<name>.json`` and print
    ``describe(summary)``."""
    config, flags = parse_command_line(experiment.script, argv)
    limit_threads(1)  # the task's products are tiny: more BLAS threads only contend with the workers
    run_dir = experiment.run_dir(config, flags)
    started = time.perf_counter()
    with experiment_folder(run_dir, experiment.name, experiment.written(config), fresh=flags.fresh):
        print(f"{experiment.name} run folder: {run_dir}", flush=True)
        summary = run(config, run_dir, show_progress=not flags.no_progress)
        wall_seconds = time.perf_counter() - started
        if experiment.summary_file:
            summary["wall_seconds"] = wall_seconds
            atomic_write_text(run_dir / f"{experiment.name}.json", json.dumps(summary, indent=1))
    print(describe(summary))
    files = ", ".join([str(run_dir / experiment.outputs[0]), *experiment.outputs[1:], f"{experiment.name}.json"])
    print(f"wrote {files} in {wall_seconds:.0f} s; TensorBoard: tensorboard --logdir {run_dir}")
    return run_dir


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


def _held(run_dir: Path) -> list[str]:
    """The entries of ``run_dir`` but the experiment's lock."""
    return sorted(path.name for path in run_dir.iterdir() if path.name != EXPERIMENT_LOCK)


def mark_experiment_folder(run_dir: Path, name: str) -> None:
    """Write the marker that makes ``run_dir`` a run folder of experiment ``name``. Only an empty (or new)
    folder is adopted, or one whose marker says it is ``name``'s: a folder holding anything else (a user's
    files, another experiment's or a single run's folder) is refused with ``SystemExit``, untouched."""
    check_run_dir(run_dir)
    owner = experiment_owner(run_dir)
    if owner is not None and owner != name:
        raise SystemExit(f"--run-dir {run_dir} is the run folder of the {owner!r} experiment, not of {name!r}")
    if owner is None and run_dir.exists() and _held(run_dir):
        held = _held(run_dir)
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
    if owner is None and run_dir.is_dir() and not _held(run_dir):
        return  # new, or holding only the lock this process took: nothing to remove
    try:
        kept = [path for path in clear_run_folder(run_dir, name, written) if path.name != EXPERIMENT_LOCK]
    except RunFolderError as error:
        raise SystemExit(str(error)) from None
    if kept:
        shown = ", ".join(str(path.relative_to(run_dir)) for path in kept[:5]) + (", ..." if len(kept) > 5 else "")
        print(f"--fresh: kept {len(kept)} files no {name} run wrote (or changed since): {shown}", flush=True)
        atomic_write_json(run_dir / EXPERIMENT_MARKER, {"experiment": name})  # still this experiment's folder
        record_written(run_dir, [run_dir / EXPERIMENT_MARKER], name)


@contextmanager
def experiment_lock(run_dir: Path, name: str) -> Iterator[None]:
    """Hold ``run_dir``'s lock (``experiment.lock``, made with the folder if new) while the experiment
    ``name`` works in it: a second process on the same folder is refused at once with ``SystemExit``, before
    it reads anything there. A lock file this call made in a folder the experiment then refuses is removed
    again, so that a refused folder is left as it was."""
    check_run_dir(run_dir)
    new_folder = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock_path = run_dir / EXPERIMENT_LOCK
    new_lock = not lock_path.exists()
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise SystemExit(
            f"{name}: --run-dir {run_dir} is in use by another process (it holds {lock_path}); wait for it to "
            "finish, or give another --run-dir"
        ) from None
    try:
        yield
    finally:
        if new_lock and not _marked(run_dir, name):  # refused: leave the folder as it was
            lock_path.unlink(missing_ok=True)
            if new_folder and not any(run_dir.iterdir()):
                run_dir.rmdir()
        lock.release()


def _marked(run_dir: Path, name: str) -> bool:
    """Whether ``run_dir`` holds the marker of experiment ``name`` (a damaged marker: no)."""
    try:
        return json.loads((run_dir / EXPERIMENT_MARKER).read_text()).get("experiment") == name
    except (OSError, ValueError, AttributeError):
        return False


@contextmanager
def experiment_folder(run_dir: Path, name: str, written: tuple[str, ...], *, fresh: bool) -> Iterator[None]:
    """The run folder of experiment ``name`` around its work: locked first (``experiment_lock``), then
    ``--fresh`` (``start_fresh``), the folder adopted and marked (``mark_experiment_folder``), a
    ``RunFolderError`` of the work turned into a one-line ``SystemExit``, and what the experiment wrote under
    ``written`` recorded in its manifest, also when the work is interrupted."""
    with experiment_lock(run_dir, name):
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
