"""A server in a child process on a free loopback port (for tests, benchmarks and notebooks)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

ADDRESS = re.compile(r"seqreward-serve: \S+ on (http://127\.0\.0\.1:\d+)")


@contextlib.contextmanager
def serve_in_subprocess(
    env_id: str, *args: str, start_timeout_s: float = 60.0
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``python -m seqreward_serve env_id --host 127.0.0.1 --port 0 *args`` in a child process: yields
    ``(base_url, process)`` once it accepts connections, and stops it with SIGTERM on exit (SIGKILL if it
    has not stopped within 10 s)."""
    command = [sys.executable, "-m", "seqreward_serve", env_id, "--host", "127.0.0.1", "--port", "0", *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + start_timeout_s
        line = process.stdout.readline()  # the address line, printed once the socket is listening
        match = ADDRESS.search(line)
        if match is None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate(timeout=10)
            raise RuntimeError(f"seqreward-serve did not start: stdout {line!r}, stderr {err[-2000:]!r}")
        yield match.group(1), process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
