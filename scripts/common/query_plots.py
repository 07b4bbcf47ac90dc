"""Plot pieces shared by the theory's query experiments (barrier, margin): each run that reached the target
as a point at its queries, the median over seeds as a line, and each run that spent its budget first as a
triangle at the queries it spent (a lower bound)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def plot_reached(
    axis: Any, rows: Sequence[Mapping[str, Any]], x_key: str, curve: Mapping[str, list[Any]], colour: Any, label: str
) -> None:
    """The runs in ``rows`` that reached the target (points at ``queries_to_target`` against ``x_key``) and
    the curve's median queries (a line through ``curve[x_key]``, broken where no run reached it)."""
    reached = [row for row in rows if row["reached"]]
    axis.scatter([r[x_key] for r in reached], [r["queries_to_target"] for r in reached], color=colour, alpha=0.4, s=18)
    medians = [q if q is not None else math.nan for q in curve["median_queries"]]
    axis.plot(curve[x_key], medians, color=colour, marker="o", label=f"{label} (median)")


def plot_missed(axis: Any, rows: Sequence[Mapping[str, Any]], x_key: str, colour: Any) -> None:
    """The runs in ``rows`` that spent their budget before the target, at the queries they spent."""
    missed = [row for row in rows if not row["reached"]]
    if missed:
        axis.scatter([r[x_key] for r in missed], [r["final_reward_queries"] for r in missed], color=colour,
                     marker="^", s=40, label="budget spent, target not reached")  # fmt: skip
