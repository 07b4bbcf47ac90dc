"""Every file a run reads, validated where it is read: JSON files (bounded in size and depth, of the expected
type), ``.npz`` arrays (each member's size read from its header and bounded before anything is loaded, no
pickled objects) and saved policies (the keys, finite weights and shapes a policy file must hold).

A bad file is a ``RunFolderError`` of one form, ``<file>: <what is wrong>; <what to do>``
(``agents.runs.problems.file_problem``). Checkpoints are loaded without executing code and metrics
files read line by line, each line a record with an integer ``step``."""

from __future__ import annotations

import json
import math
import pickle
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.runs.problems import RunFolderError, file_problem

# A run's JSON files (config, summary, markers) are a few KiB; anything past these bounds is not one of them.
MAX_JSON_BYTES = 64 * 2**20
MAX_JSON_DEPTH = 64
# Arrays in an .npz the machinery reads (task files, saved likelihoods): the paper's task file is 0.2 MiB.
MAX_NPZ_BYTES = 1 * 2**30
# A saved policy: the paper's linear policy is 8 KiB, the shipped networks a few MiB.
MAX_POLICY_BYTES = 512 * 2**20


def read_json(path: str | Path, remedy: str, *, expect: type = dict, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON value in ``path``, which must be of type ``expect`` (dict or list); ``remedy`` is what the
    user should do when it is not (missing, too large, not UTF-8, not JSON, nested too deeply, wrong type)."""
    path = Path(path)
    if not path.is_file():
        raise file_problem(path, "is missing or not a file", remedy)
    size = path.stat().st_size
    if size > max_bytes:
        raise file_problem(path, f"holds {size} bytes, more than the {max_bytes} such a file may", remedy)
    try:
        value = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise file_problem(path, "is not UTF-8 text", remedy) from None
    except json.JSONDecodeError as error:
        raise file_problem(path, f"is not JSON ({error.msg} at line {error.lineno})", remedy) from None
    except RecursionError:
        raise file_problem(path, f"is nested more than {MAX_JSON_DEPTH} levels deep", remedy) from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise file_problem(path, f"is nested more than {MAX_JSON_DEPTH} levels deep", remedy)
    if not isinstance(value, expect):
        kind = "an object" if expect is dict else "a list" if expect is list else expect.__name__
        raise file_problem(path, f"holds a JSON {type(value).__name__}, not {kind}", remedy)
    return value


def json_depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (a scalar: 0), computed without recursion."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        pending.extend((child, depth + 1) for child in children)
    return deepest


def read_npz(
    path: str | Path, names: Collection[str], remedy: str, *, max_bytes: int = MAX_NPZ_BYTES
) -> dict[str, np.ndarray]:
    """The arrays ``names`` of an ``.npz`` file (other members ignored). Each member's dtype and shape are read
    from its ``.npy`` header first: a non-numeric dtype, or sizes summing past ``max_bytes`` (a small file
    that would inflate to gigabytes), refuse the file before any array is loaded."""
    path = Path(path)
    if not path.is_file():
        raise file_problem(path, "is missing or not a file", remedy)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy"): name for name in archive.namelist()}
            missing = [name for name in names if name not in members]
            if missing:
                raise file_problem(path, f"lacks the arrays {missing} (it holds {sorted(members)})", remedy)
            total = 0
            for name in names:
                with archive.open(members[name]) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else (np.lib.format.read_array_header_2_0)
                    )
                    shape, _, dtype = read_header(member)  # the header only: no array is read yet
                if dtype.hasobject or dtype.kind not in "biuf":
                    raise file_problem(path, f"array {name!r} has dtype {dtype}, not a numeric one", remedy)
                total += math.prod(shape) * dtype.itemsize
            if total > max_bytes:
                raise file_problem(
                    path,
                    f"would inflate to {total / 2**30:.1f} GiB of arrays, over the {max_bytes / 2**30:g} GiB limit",
                    remedy,
                )
        with np.load(path, allow_pickle=False) as data:
            return {name: np.asarray(data[name]) for name in names}
    except RunFolderError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError) as error:
        raise file_problem(path, f"is not a readable .npz file of arrays ({error})", remedy) from None


def read_policy_file(
    path: str | Path, remedy: str, *, context_dim: int | None = None, vocab_size: int | None = None
) -> dict[str, Any]:
    """The contents of a saved policy (``LinearPolicy.save`` or ``NetworkPolicy.save``), loaded without running
    code and checked: a dict with ``context_dim`` and ``vocab_size`` (matching the task's when given), finite
    weight tensors, and for the linear policy ``w1`` ``(d, k)`` and ``w2`` ``(k, k)``."""
    path = Path(path)
    if not path.is_file():
        raise file_problem(path, "is missing or not a file", remedy)
    size = path.stat().st_size
    if size == 0:
        raise file_problem(path, "is empty (an interrupted write?)", remedy)
    if size > MAX_POLICY_BYTES:
        raise file_problem(path, f"holds {size} bytes, more than a policy file may ({MAX_POLICY_BYTES})", remedy)
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; torch's older format is not read
        raise file_problem(path, "is not a policy file (torch.save writes a zip archive; this file is none)", remedy)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise file_problem(path, "holds objects other than tensors and plain containers (not loaded)", remedy) from None
    except Exception as error:  # noqa: BLE001 (a damaged archive fails in many ways: zip, struct, EOF, key, ...)
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise file_problem(path, f"is not a readable policy file ({first})", remedy) from None
    if not isinstance(saved, Mapping):
        raise file_problem(path, f"holds a {type(saved).__name__}, not a saved policy (a dict)", remedy)
    dims = {name: saved.get(name) for name in ("context_dim", "vocab_size")}
    for name, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise file_problem(path, f"has no valid {name!r} (got {value!r})", remedy)
    for name, wanted in (("context_dim", context_dim), ("vocab_size", vocab_size)):
        if wanted is not None and dims[name] != wanted:
            raise file_problem(path, f"is a policy with {name}={dims[name]}, the task has {name}={wanted}", remedy)
    d, k = dims["context_dim"], dims["vocab_size"]
    if "architecture" in saved:
        weights = saved.get("state")
        if not isinstance(weights, Mapping) or not isinstance(saved["architecture"], Mapping):
            raise file_problem(path, "is a network policy without its 'state' and 'architecture' dicts", remedy)
    else:
        shapes = {"w1": (d, k), "w2": (k, k)}
        weights = {name: saved.get(name) for name in shapes}
        for name, shape in shapes.items():
            value = weights[name]
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise file_problem(path, f"has {name} of shape {got}, a linear policy needs {shape}", remedy)
    for name, value in weights.items():
        if not isinstance(value, torch.Tensor):
            raise file_problem(path, f"has a weight {name!r} that is a {type(value).__name__}, not a tensor", remedy)
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise file_problem(path, f"has non-finite (NaN or infinite) entries in {name!r}", remedy)
    return dict(saved)


def load_checkpoint(path: str | Path) -> Any:
    """A checkpoint loaded with ``weights_only=True`` (tensors and plain containers only: a file that
    would run code on loading is refused). An empty, truncated or foreign file is a ``ValueError`` naming it."""
    path = Path(path)
    remedy = "delete it to run the run again from step 0, or start it over with --fresh"
    if path.stat().st_size == 0:
        raise file_problem(path, "is empty (an interrupted write?)", remedy)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if "Unsupported" in line or "GLOBAL" in line]
        reason = lines[0] if lines else str(error).splitlines()[0]
        raise file_problem(
            path,
            f"holds objects other than tensors and plain containers and is not loaded (loading it could run code: "
            f"{reason})",
            remedy,
        ) from None
    except Exception as error:  # noqa: BLE001 (torch reports a damaged file in many ways: struct, zip, EOF, ...)
        raise file_problem(path, f"is damaged and cannot be read ({error})", remedy) from None


def metrics_lines(path: str | Path, *, drop_partial_last: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """Each line (with its newline) of a JSON-lines metrics file and its record, a JSON object with an integer
    ``step``. A line that is not one is a ``RunFolderError`` naming the file and the line; with
    ``drop_partial_last`` an unterminated last line (an append cut short) is dropped instead."""
    path = Path(path)
    remedy = "restore the file, or start the run over with --fresh"
    if not path.is_file():
        raise file_problem(path, "is not a file", remedy)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise file_problem(path, f"is not UTF-8 text (byte {error.start})", remedy) from None
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        partial = number == len(lines)  # no newline after it
        if partial and drop_partial_last:
            break
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
            raise file_problem(path, f"line {number} is damaged ({reason}): {line[:80]!r}", remedy) from None
        if (
            not isinstance(record, dict)
            or isinstance(record.get("step"), bool)
            or not isinstance(record.get("step"), int)
        ):
            raise file_problem(path, f"line {number} is not a record with an integer 'step': {line[:80]!r}", remedy)
        records.append((line if partial else line + "\n", record))
    return records
