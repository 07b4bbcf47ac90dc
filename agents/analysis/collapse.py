"""The collapse guard: a run whose policy ended worse than it started, or that has become deterministic on
wrong tokens, is flagged in its summary (``done.json``) and on the console, so that no experiment reports it
as a plain result.

A run's first evaluation is its starting policy's (the base model for post-training, the fresh policy for
pre-training), so the guard reads both ends from the run's own metrics:

- ``worse_than_base``: the final test error is above the first;
- ``deterministic_wrong``: the share of test positions (teacher-forced along y*) where the policy gives a
  wrong token at least ``agents.policy.evaluation.CONFIDENT`` rose by more than ``WRONG_SHARE_RISE``.

A collapse shows as both: a learning rate too large for the policy saturates its logits on whatever tokens
its first steps favoured, and the reward-driven learners then get no gradient there.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

WRONG_SHARE_RISE = 0.2
"""How much the share of confidently wrong test positions may rise over a run before it counts as a
collapse. Some positions legitimately harden on wrong tokens: Figure 1's off-support contexts, which PG
never lifts, did so at 5 to 7% of the test positions in a healthy linear run (N = 32, docs/neural.md);
a collapse reaches half of them and more."""

REASONS = {
    "worse_than_base": "final test error {final:.4f} above the starting policy's {base:.4f}",
    "deterministic_wrong": "deterministic on wrong tokens at {final_wrong:.1%} of test positions "
    "(from {base_wrong:.1%})",
}


def collapse_flags(evaluations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The guard's verdict from a run's evaluation records (``metrics.jsonl`` rows holding
    ``eval/test_error``, in order): ``collapsed`` (bool) and ``collapse_reasons`` (the names in ``REASONS``
    that hold, with their text). Runs without evaluations, or whose evaluator gives no test error, are not
    judged (``collapsed`` None)."""
    records = [record for record in evaluations if "eval/test_error" in record]
    if not records:
        return {"collapsed": None, "collapse_reasons": {}}
    first, last = records[0], records[-1]
    values = {"base": first["eval/test_error"], "final": last["eval/test_error"]}
    reasons = []
    if values["final"] > values["base"]:
        reasons.append("worse_than_base")
    if "eval/confidently_wrong" in first and "eval/confidently_wrong" in last:
        values.update(base_wrong=first["eval/confidently_wrong"], final_wrong=last["eval/confidently_wrong"])
        if values["final_wrong"] - values["base_wrong"] > WRONG_SHARE_RISE:
            reasons.append("deterministic_wrong")
    return {"collapsed": bool(reasons), "collapse_reasons": {name: REASONS[name].format(**values) for name in reasons}}


def guard_run(folder: str | Path, evaluations: Sequence[Mapping[str, Any]], description: str = "") -> dict[str, Any]:
    """``collapse_flags`` of a finished run, also printed to stderr when it collapsed (what a run's summary
    takes in)."""
    flags = collapse_flags(evaluations)
    if flags["collapsed"]:
        text = "; ".join(flags["collapse_reasons"].values())
        print(f"COLLAPSED {description or folder} ({folder}): {text}", file=sys.stderr, flush=True)
    return flags


def collapse_note(summaries: Sequence[Mapping[str, Any]]) -> str:
    """What an experiment's table or summary line adds for runs that collapsed: "" when none did, else
    e.g. " [COLLAPSED in 2 of 3 runs: worse_than_base, deterministic_wrong]"."""
    collapsed = [summary for summary in summaries if summary.get("collapsed")]
    if not collapsed:
        return ""
    reasons = sorted({name for summary in collapsed for name in summary.get("collapse_reasons", {})})
    return f" [COLLAPSED in {len(collapsed)} of {len(summaries)} runs: {', '.join(reasons)}]"
