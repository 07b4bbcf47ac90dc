"""The files of run folders, written so that nothing is lost or mixed up: atomic writes (temporary file,
fsync, rename), checkpoints loaded without executing code, configs stored with folder-relative paths and
compared field by field, and ``--fresh`` that removes only what a run wrote."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.runs.inputs import read_json
from agents.runs.problems import RunFolderError, file_problem

# Keys of config values that are paths: stored relative to the run folder when they lie inside it, else as
# given (normalised), so that a moved folder, or one spelled differently, still matches its config.
PATH_KEYS = ("run_dir", "base_model")
PATH_SUFFIXES = ("_dir", "_path", "_file", "_model")


def file_digest(path: str | Path) -> str:
    """The SHA-256 (hex) of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_digest(value: Any) -> str:
    """The SHA-256 (hex) of a JSON value written canonically (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def state_digest(state: Any) -> str:
    """The SHA-256 (hex) of a checkpoint state (tensors, numpy arrays and plain containers), walked in a fixed
    order: each tensor by its dtype, shape and bytes, each mapping by its sorted keys."""
    digest = hashlib.sha256()
    _feed(digest, state)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().contiguous()
        digest.update(f"T{value.dtype}{tuple(value.shape)}".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    elif isinstance(value, np.ndarray):
        digest.update(f"A{value.dtype.str}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, Mapping):
        digest.update(f"M{len(value)}".encode())
        for key in sorted(value, key=repr):
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"L{len(value)}".encode())
        for entry in value:
            _feed(digest, entry)
    else:
        digest.update(f"V{type(value).__name__}:{value!r}".encode())


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
    parts = [f"{name}: {config_value(saved, name)!r} -> {config_value(new, name)!r}" for name in names[:8]]
    if len(names) > 8:
        parts.append(f"... and {len(names) - 8} more")
    return "; ".join(parts)


def config_value(config: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted field name (``"task.seed"``) of a JSON config, ``"<absent>"`` where it has none."""
    value: Any = config
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return "<absent>"
        value = value[part]
    return value


MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 256 * 2**20  # about a million files' entries
# Files a run appends to (logs): vouched for by the beginning recorded last, since the run may have appended
# more before it was stopped.
APPENDED = ("metrics.jsonl", "progress.csv", "events.out.tfevents.")


def _is_appended(name: str) -> bool:
    return any(name == pattern or (pattern.endswith(".") and name.startswith(pattern)) for pattern in APPENDED)


def read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """The files ``folder``'s manifest lists, relative path -> ``{"bytes": n, "sha256": ...}`` (of the whole
    file, or of its first ``bytes`` for a log the run appends to); {} without a manifest."""
    return _manifest(folder)[1]


def manifest_owner(folder: Path) -> str | None:
    """Who wrote ``folder``'s manifest: ``"run"`` (a run folder) or an experiment's name; None without one."""
    return _manifest(folder)[0]


def _manifest(folder: Path) -> tuple[str | None, dict[str, dict[str, Any]]]:
    path = folder / MANIFEST
    if not path.exists():
        return None, {}
    remedy = "delete it (the folder's files are then no longer removed by --fresh)"
    manifest = read_json(path, remedy, max_bytes=MAX_MANIFEST_BYTES)
    files, owner = manifest.get("files"), manifest.get("owner")
    if not isinstance(files, dict) or not all(isinstance(entry, dict) for entry in files.values()):
        raise file_problem(path, "is not a manifest of written files", remedy)
    return (owner if isinstance(owner, str) else None), files


def record_written(folder: str | Path, paths: Iterable[str | Path], owner: str) -> None:
    """Add ``paths`` (files inside ``folder``, just written by ``owner``: ``"run"`` or an experiment's name) to
    ``folder``'s manifest with their size and SHA-256: what ``clear_written`` may later remove. Paths that
    are not files are skipped."""
    folder = Path(folder)
    files = read_manifest(folder)
    for path in paths:
        path = Path(path)
        if path.is_file() and not path.is_symlink():
            relative = path.resolve().relative_to(folder.resolve()).as_posix()
            files[relative] = {"bytes": path.stat().st_size, "sha256": file_digest(path)}
    atomic_write_json(folder / MANIFEST, {"owner": owner, "files": dict(sorted(files.items()))})


def _vouched(path: Path, entry: Mapping[str, Any]) -> bool:
    """Whether ``path`` still holds what the manifest ``entry`` recorded (its beginning, for a log)."""
    if not path.is_file() or path.is_symlink():
        return False
    size = path.stat().st_size
    recorded = entry.get("bytes")
    if not isinstance(recorded, int) or size < recorded or (size != recorded and not _is_appended(path.name)):
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        left = recorded
        while left:
            block = file.read(min(left, 1 << 20))
            if not block:
                return False
            digest.update(block)
            left -= len(block)
    return digest.hexdigest() == entry.get("sha256")


def clear_written(folder: str | Path) -> list[Path]:
    """Remove what the runs in ``folder`` wrote: in ``folder`` and every folder below it holding a manifest,
    each file the manifest lists whose content is still what the run recorded, then folders left empty. A
    folder that keeps files (a user's, or ones changed since) keeps an empty manifest: it stays a run folder
    a new run may use. Returns the files left (manifests aside)."""
    folder = Path(folder)
    manifests = sorted(folder.rglob(MANIFEST), key=lambda path: len(path.parts), reverse=True)
    for manifest in manifests:
        root = manifest.parent
        for relative, entry in read_manifest(root).items():
            path = root / relative
            if path.resolve().is_relative_to(root.resolve()) and _vouched(path, entry):
                path.unlink()
        if any(path.name != MANIFEST for path in root.rglob("*") if not path.is_dir()):
            atomic_write_json(manifest, {"owner": manifest_owner(root), "files": {}})
        else:
            manifest.unlink()
    for path in sorted(folder.rglob("*"), key=lambda path: len(path.parts), reverse=True):
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
    return sorted(path for path in folder.rglob("*") if not path.is_dir() and path.name != MANIFEST)


def clear_run_folder(folder: str | Path, owner: str, outputs: Collection[str] = ()) -> list[Path]:
    """``--fresh``: start a run folder of ``owner`` (``"run"`` or an experiment's name) over by
    ``clear_written``. A folder that exists, is not empty and has no manifest of ``owner`` is not its run
    folder: it is refused with a ``RunFolderError`` and left intact; a missing folder is nothing to clear. So
    is one where a file named in ``outputs`` (what the run writes again) is not what the run wrote (a user's,
    or edited since): the new run would overwrite it. Returns the files left."""
    folder = Path(folder)
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise file_problem(folder, "is not a folder; nothing was removed", "give --run-dir a folder")
    written_by = manifest_owner(folder)
    if written_by != owner:
        if written_by is None and not any(folder.iterdir()):
            return []
        found = f"its {MANIFEST} is of {written_by!r}" if written_by else f"it has no {MANIFEST} of written files"
        kind = "a run" if owner == "run" else f"the {owner} experiment"
        raise RunFolderError(
            f"--fresh: {folder} is not a run folder of {kind} ({found}); nothing was removed. Give --run-dir a "
            "folder this program wrote, or a new one"
        )
    listed = read_manifest(folder)
    changed = [
        name for name in outputs if (folder / name).is_file() and not _vouched(folder / name, listed.get(name, {}))
    ]
    if changed:
        raise RunFolderError(
            f"--fresh: {folder} holds {', '.join(changed)}, not as the run wrote it (a new run would overwrite "
            "it); nothing was removed. Move it away first"
        )
    return clear_written(folder)


def only_names(names: Collection[str]) -> tuple[str, ...]:
    """``names``, each checked to be a plain entry name (no folder separators, not ``.`` or ``..``)."""
    for name in names:
        if not name or name in (".", "..") or "/" in name or os.sep in name:
            raise ValueError(f"a run folder entry must be a plain name, got {name!r}")
    return tuple(names)
