"""Command lines generated from config dataclasses: one flag per field, its help from the field's docstring."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
from typing import Any, TypeVar, get_type_hints

T = TypeVar("T")


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass (PEP 257 attribute docstrings)."""
    try:
        tree = ast.parse(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node, following in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, defaults: Any | None = None) -> None:
    """Add ``--field-name`` for every field of the dataclass ``cls`` (defaults from ``defaults`` if given)."""
    docs = field_docs(cls)
    hints = get_type_hints(cls)
    for field in dataclasses.fields(cls):
        default = getattr(defaults, field.name) if defaults is not None else field.default
        flag = "--" + field.name.replace("_", "-")
        kind = hints[field.name]
        help_text = f"{docs.get(field.name, '')} (default: {default})"
        if kind is bool:
            parser.add_argument(
                flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(flag, dest=field.name, type=_parser_for(kind), default=None, help=help_text)


def config_from_args(cls: type[T], args: argparse.Namespace, base: T | None = None) -> T:
    """Build ``cls`` from parsed arguments: flags given on the command line override ``base`` (or the defaults)."""
    start = base if base is not None else cls()
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    changes = {f.name: getattr(args, f.name) for f in fields if getattr(args, f.name, None) is not None}
    return dataclasses.replace(start, **changes)  # type: ignore[type-var]


def _parser_for(kind: Any) -> Any:
    if kind in (int, float, str):
        return kind
    text = str(kind)
    if "float" in text and "int" not in text:
        return float
    if "int" in text and "float" not in text:
        return int
    if "float" in text:
        return float
    return str
