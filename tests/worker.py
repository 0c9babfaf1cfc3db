"""A real Celery worker for end-to-end tests (registered in tests/conftest.py through ``pytest_plugins``).

Eager mode hides serialisation and on-commit bugs, so a few tests run the real thing: a
``celery -A config worker`` subprocess (through tests/celery_worker.py, which can slow its chunks:
``TEST_CHUNK_DELAY``) on the configured broker, reading and writing the *test* database
(``test_<name>`` on PostgreSQL, the ``TEST.NAME`` file on SQLite). Tests that use it get
``transactional_db``, so what they create is committed and visible to the worker::

    @pytest.mark.worker
    def test_chunk_is_processed(celery_worker_process, tenant):
        some_task.delay(tenant.pk)
        wait_for(lambda: Thing.objects.filter(...).exists())
        celery_worker_process.kill(signal.SIGKILL)   # the worker dies (with its pool children)
        celery_worker_process.restart()              # and a new one takes over

The broker comes from the settings (REDIS_URL). ``make test`` wraps the run in a private embedded
Redis; when pytest runs bare and nothing answers at a local REDIS_URL, ``broker_url`` starts one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.db import connection

from kaireon import embedded_redis

READY_TIMEOUT = 30.0  # seconds; a worker is ready in ~1.5 s here, CI machines can be slower
STOP_TIMEOUT = 10.0  # warm shutdown waits for the running task; after this the group is killed


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 20.0,
    interval: float = 0.1,
    message: str | Callable[[], str] = "",
) -> Any:
    """Poll predicate until it returns something truthy; return that, or fail the test after timeout.

    message may be a callable (e.g. ``worker.log``), evaluated only on failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = message() if callable(message) else message
            pytest.fail(f"condition not met within {timeout:.0f} s\n{detail}")
        time.sleep(interval)


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL (dj-database-url syntax) for the database a connection's settings point at."""
    engine, name = settings_dict["ENGINE"], str(settings_dict["NAME"])
    if engine.endswith("sqlite3"):
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("a worker process cannot see an in-memory SQLite database; set DATABASES TEST NAME")
        return f"sqlite:///{Path(name).resolve()}"
    schemes = {"postgresql": "postgres", "mysql": "mysql"}
    scheme = next((value for key, value in schemes.items() if key in engine), None)
    if scheme is None:
        raise RuntimeError(f"no DATABASE_URL scheme for engine {engine}")
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"{scheme}://{credentials}{host}{port}/{quote(name, safe='')}"


def _die_with_parent() -> None:
    """preexec_fn: SIGTERM the worker if pytest itself is killed, so no worker outlives the run (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class WorkerProcess:
    """One ``celery worker`` subprocess in its own process group (the main process and its pool children)."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        log_path: Path,
        queues: str = "celery",
        concurrency: int = 1,
        pool: str = "prefork",
    ) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.queues = queues
        self.concurrency = concurrency
        self.pool = pool
        self.name = ""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "worker not started"
        return self.process.pid

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "tests.celery_worker", "-A", "config", "worker",
            "--concurrency", str(self.concurrency), "--pool", self.pool, "-Q", self.queues,
            "-n", self.name, "-l", "info",
            # Gossip, mingle and heartbeats talk to other workers; these tests want exactly one, fast.
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip

    def start(self) -> WorkerProcess:
        # A new node name on every start, so a ping never gets its answer from the previous incarnation.
        self.name = f"pytest-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        with self.log_path.open("ab") as log:
            log.write(f"\n--- starting {self.name}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
                self.argv(),
                cwd=settings.BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches the pool children too
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        from config.celery import app

        deadline = time.monotonic() + timeout
        while True:
            if not self.is_alive():
                raise RuntimeError(f"celery worker exited with {self.returncode()} before it was ready:\n{self.log()}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"celery worker not ready within {timeout:.0f} s:\n{self.log()}")

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self, sig: int = signal.SIGKILL, *, group: bool = True) -> None:
        """Send sig to the worker (group=True: the main process and its pool children, as when a machine dies).

        For SIGKILL, SIGTERM and SIGINT this returns once the main process has exited.
        """
        if not self.is_alive():
            return
        if group:
            os.killpg(self.pid, sig)
        else:
            os.kill(self.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            assert self.process is not None
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM: finish the running task), then make sure nothing of the group is left."""
        if self.process is None:
            return
        self.kill(signal.SIGTERM)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # pool children orphaned by an earlier non-group kill

    def restart(self) -> WorkerProcess:
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def worker_env(broker: str) -> dict[str, str]:
    """This process's environment, pointed at the test database and the broker the tests publish to."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="0",
        PYTHONUNBUFFERED="1",
        # as tests/conftest.py does in this process: the suite's webhook receivers are on loopback
        WEBHOOK_ALLOWED_HOSTS=",".join(settings.WEBHOOK_ALLOWED_HOSTS),
    )
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """The broker URL of the settings, answering: an embedded Redis is started for the session if needed."""
    from config.celery import app

    url = str(app.conf.broker_url)
    with embedded_redis.running(url):
        if not embedded_redis.is_answering(*_host_port(url)):
            pytest.fail(f"no Redis answers at {url}")
        yield url


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 6379


@pytest.fixture
def celery_worker_process(transactional_db: None, broker_url: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A running ``celery -A config worker --concurrency 1 --pool prefork -Q celery`` on the test database."""
    from config.celery import app

    # Messages left by earlier tests (published, never consumed) would run first, against rows
    # that no longer exist; each test starts from an empty queue.
    app.control.purge()
    worker = WorkerProcess(env=worker_env(broker_url), log_path=tmp_path / "celery-worker.log")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
