"""``seqreward-serve ID``: serve one registered seqreward id over HTTP and WebSocket (OpenEnv's wire format).

    seqreward-serve seqreward/Process-v0 --port 8000

listens on 127.0.0.1 (``--host 0.0.0.0`` to serve other machines) and prints one line,
``seqreward-serve: <id> on http://HOST:PORT``, once it accepts connections (``--port 0`` picks a free port,
which that line names). Ctrl-C or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from typing import Annotated

import tyro
import uvicorn

from seqreward_serve.app import ServeConfig, create_app


@dataclass(frozen=True)
class ServeArgs:
    """Serve one registered seqreward id over HTTP and WebSocket (OpenEnv's routes: /reset /step /state /schema /ws)."""

    env_id: Annotated[str, tyro.conf.Positional]
    """A registered id: seqreward/Outcome-v0, seqreward/Process-v0, seqreward/PaperOutcome-v1, ..."""
    host: str = "127.0.0.1"
    """Interface to listen on (loopback by default; 0.0.0.0 serves other machines)."""
    port: int = 8000
    """TCP port (0: a free one, printed on start)."""
    max_sessions: int = 256
    """The most sessions (HTTP and WebSocket together) held at once."""
    idle_timeout_s: float = 300.0
    """Seconds after which an unused session is closed."""
    max_body_bytes: int = 1 << 16
    """The largest request body or WebSocket message accepted."""

    def __post_init__(self) -> None:
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be an integer in [0, 65535], got {self.port!r}")


async def serve(args: ServeArgs) -> None:
    """Run the server until it is told to stop; print the address it listens on once it does."""
    config = ServeConfig(args.env_id, args.max_sessions, args.idle_timeout_s, args.max_body_bytes)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host=args.host,
            port=args.port,
            log_level="warning",
            ws_max_size=args.max_body_bytes,
            timeout_graceful_shutdown=5,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        print(f"seqreward-serve: {args.env_id} on http://{host}:{port}", flush=True)
    await task


def main(argv: list[str] | None = None) -> None:
    try:
        args = tyro.cli(ServeArgs, args=argv, description=__doc__, prog="seqreward-serve")
        ServeConfig(args.env_id, args.max_sessions, args.idle_timeout_s, args.max_body_bytes)
    except ValueError as error:
        print(f"seqreward-serve: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then raises the signal again for the caller; the
    # caller here is the command itself, which has stopped cleanly: exit 0 instead of dying by the signal.
    stopped: list[int] = []
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda signum, frame: stopped.append(signum))
    asyncio.run(serve(args))
    if stopped:
        print(f"seqreward-serve: stopped ({signal.Signals(stopped[0]).name})", flush=True)


if __name__ == "__main__":
    main()
