"""Every file a run reads, validated where it is read: JSON files (bounded in size and depth, of the expected
type), ``.npz`` arrays (each member's size read from its header and bounded before anything is loaded, no
pickled objects) and saved policies (the keys, finite weights and shapes a policy file must hold).

A bad file is a ``RunFolderError`` of one form, ``<file>: <what is wrong>; <what to do>``
(``run_files.file_problem``)."""

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

from agents.experiment.run_files import RunFolderError, file_problem

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
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise file_problem(path, "holds objects other than tensors and plain containers (not loaded)", remedy) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
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
