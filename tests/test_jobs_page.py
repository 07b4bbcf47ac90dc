"""The jobs page cites a test for each guarantee: every test it names exists, so a guarantee never points at
a test that was renamed or dropped."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_the_jobs_page_cites_exists() -> None:
    page = (ROOT / "docs" / "jobs.md").read_text()
    cited = set(re.findall(r"`(?:[\w/]+\.py::)?(test_\w+)`", page))
    files = set(re.findall(r"`(tests/[\w/]+\.py)", page))
    defined = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(), re.M)
    }
    assert len(cited) >= 25
    assert cited <= defined, sorted(cited - defined)
    assert all((ROOT / file).is_file() for file in files), sorted(file for file in files if not (ROOT / file).is_file())
