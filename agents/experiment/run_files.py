"""The files of run folders, written so that nothing is lost or mixed up: atomic writes (temporary file,
fsync, rename), checkpoints loaded without executing code, configs stored with folder-relative paths and
compared field by field, and ``--fresh`` that removes only what a run wrote."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

# Keys of config values that are paths: stored relative to the run folder when they lie inside it, else as
# given (normalised), so that a moved folder, or one spelled differently, still matches its config.
PATH_KEYS = ("run_dir", "base_model")
PATH_SUFFIXES = ("_dir", "_path", "_file", "_model")


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked: it holds another run, is in use, or a file is damaged."""


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically: a crash leaves either the old file or the new one, whole."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    """``atomic_write_bytes`` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, value: Any) -> None:
    """``value`` as indented JSON, written atomically."""
    atomic_write_text(path, json.dumps(value, indent=1, sort_keys=True) + "\n")


def atomic_torch_save(value: Any, path: str | Path) -> None:
    """``torch.save`` to memory, then ``atomic_write_bytes``: a crash leaves the previous file whole."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms without directory handles
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def load_checkpoint(path: str | Path) -> Any:
    """A checkpoint loaded with ``weights_only=True`` (tensors and plain containers only: a file that
    would run code on loading is refused). An empty, truncated or foreign file is a ``ValueError`` naming it."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise RunFolderError(f"checkpoint {path} is empty (an interrupted write?); delete it to start the run over")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if "Unsupported" in line or "GLOBAL" in line]
        reason = lines[0] if lines else str(error).splitlines()[0]
        raise RunFolderError(
            f"checkpoint {path} holds objects other than tensors and plain containers and is not loaded "
            f"(loading it could run code): {reason}"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise RunFolderError(f"checkpoint {path} is damaged and cannot be read: {error}") from None


def read_json_lines(path: str | Path, *, drop_partial_last: bool = False) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file. A line that is not one is a ``ValueError`` naming the file and
    the line; with ``drop_partial_last`` an unterminated last line (an append cut short) is dropped instead."""
    path = Path(path)
    text = path.read_text()
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            if drop_partial_last and number == len(lines) and not text.endswith("\n"):
                break
            raise RunFolderError(f"{path} line {number} is damaged ({error.msg}): {line[:80]!r}") from None
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            raise RunFolderError(f"{path} line {number} is not a record with an integer 'step': {line[:80]!r}")
        records.append(record)
    return records


def is_path_key(key: str) -> bool:
    """Whether a config field named ``key`` holds a file or folder path."""
    return key in PATH_KEYS or key.endswith(PATH_SUFFIXES)


def portable_config(config: Mapping[str, Any], folder: str | Path) -> dict[str, Any]:
    """``config`` as JSON-ready values, with every path (``is_path_key``) inside ``folder`` made relative
    to it (``"."`` for the folder itself) and every other path normalised as given."""
    plain = json.loads(json.dumps(dict(config), default=str))
    root = Path(folder).resolve()
    return _portable(plain, root)


def _portable(value: Any, root: Path, key: str = "") -> Any:
    if isinstance(value, dict):
        return {name: _portable(entry, root, name) for name, entry in value.items()}
    if isinstance(value, list):
        return [_portable(entry, root, key) for entry in value]
    if isinstance(value, str) and value and is_path_key(key):
        resolved = Path(value).resolve()
        if resolved == root or root in resolved.parents:
            return resolved.relative_to(root).as_posix() or "."
        return os.path.normpath(value)
    return value


def config_differences(saved: Any, new: Any, prefix: str = "") -> list[str]:
    """The dotted names of the fields in which two JSON configs differ (``[]`` when equal)."""
    if isinstance(saved, dict) and isinstance(new, dict):
        names: list[str] = []
        for key in sorted(set(saved) | set(new)):
            name = f"{prefix}{key}"
            if key not in saved or key not in new:
                names.append(name)
            else:
                names.extend(config_differences(saved[key], new[key], name + "."))
        return names
    return [] if saved == new else [prefix.rstrip(".") or "<config>"]


def describe_differences(saved: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``field: saved -> new`` for each differing field (at most 8, then a count)."""
    names = config_differences(dict(saved), dict(new))
    parts = [f"{name}: {_lookup(saved, name)!r} -> {_lookup(new, name)!r}" for name in names[:8]]
    if len(names) > 8:
        parts.append(f"... and {len(names) - 8} more")
    return "; ".join(parts)


def _lookup(config: Mapping[str, Any], dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return "<absent>"
        value = value[part]
    return value


def clear_run_folder(folder: str | Path, marker: str, written: Iterable[str]) -> None:
    """Start a run folder over: remove ``marker`` and the entries named in ``written`` (what the run
    wrote), leaving anything else. A folder that exists, is not empty and lacks ``marker`` is not a run
    folder: it is refused with a ``ValueError`` and left intact. A missing folder is nothing to clear."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise RunFolderError(f"--fresh: {folder} is not a folder; nothing was removed")
    if not (folder / marker).is_file():
        if any(folder.iterdir()):
            raise RunFolderError(
                f"--fresh: {folder} is not a run folder (it has no {marker}); nothing was removed. "
                "Give --run-dir a folder this program wrote, or a new one"
            )
        return
    for name in [*written, marker]:
        _remove(folder / name)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)


def only_names(names: Collection[str]) -> tuple[str, ...]:
    """``names``, each checked to be a plain entry name (no folder separators, not ``.`` or ``..``)."""
    for name in names:
        if not name or name in (".", "..") or "/" in name or os.sep in name:
            raise ValueError(f"a run folder entry must be a plain name, got {name!r}")
    return tuple(names)
