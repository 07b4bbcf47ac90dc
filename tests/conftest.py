"""What every test shares: one thread for torch and BLAS, and SB3's log folders kept out of the system's
temporary directory."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from agents.common.threads import limit_threads


@pytest.fixture(autouse=True, scope="session")
def one_thread_and_contained_sb3_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's products and networks are tiny: one thread each is fastest and keeps pytest-xdist's
    workers from contending. SB3 makes a log folder under ``$SB3_LOGDIR`` (else the system's temporary
    directory) for every model trained without a logger; they go to pytest's temporary tree instead."""
    limit_threads(1)
    previous = os.environ.get("SB3_LOGDIR")
    os.environ["SB3_LOGDIR"] = str(tmp_path_factory.mktemp("sb3-logs"))
    yield
    if previous is None:
        os.environ.pop("SB3_LOGDIR", None)
    else:
        os.environ["SB3_LOGDIR"] = previous
