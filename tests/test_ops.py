"""Operations: the health endpoint, the embedded Redis, a real Celery worker, and the process definitions."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import uuid

import pytest
import redis
import yaml
from django.conf import settings
from django.db import connection

from kaireon import embedded_redis
from kaireon.models import AuditLog, Tenant
from kaireon.services import ROUNDTRIP_ACTION, audit_verify
from kaireon.tasks import healthcheck_roundtrip
from tests.worker import WorkerProcess, wait_for


def roundtrip_entries(tenant: Tenant, token: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(tenant=tenant, action=ROUNDTRIP_ACTION, object_id=token))


# --- /healthz -----------------------------------------------------------------------------


def test_healthz_reports_database_and_broker_ok(client, db, broker_url, settings):
    settings.REDIS_URL = broker_url

    response = client.get("/healthz")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"ok": True, "vendor": connection.vendor}, "broker": {"ok": True}},
    }


def test_healthz_is_503_when_the_broker_is_down(client, db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{embedded_redis.free_port()}/0"  # nothing listens there

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]


# --- the embedded Redis -------------------------------------------------------------------


def test_embedded_redis_starts_only_when_nothing_answers_and_keeps_nothing_on_disk():
    port = embedded_redis.free_port()
    url = f"redis://127.0.0.1:{port}/0"

    server = embedded_redis.ensure_running(url)
    try:
        assert server is not None
        assert embedded_redis.is_answering("127.0.0.1", port)
        assert embedded_redis.ensure_running(url) is None  # already answering: nothing second started
        client = redis.Redis(port=port)
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        client.close()
    finally:
        if server is not None:
            server.stop()
    assert not embedded_redis.is_answering("127.0.0.1", port)


def test_embedded_redis_run_gives_the_command_a_private_server_and_returns_its_exit_status(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    script = (
        "import os, sys, redis; port = int(os.environ['EMBEDDED_REDIS_PORT']); "
        "assert redis.Redis(port=port).ping(); print(port); sys.exit(7)"
    )

    result = subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "kaireon.embedded_redis", "run", "--fresh", "--", sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 7, result.stderr
    port = int(result.stdout.strip())
    assert not embedded_redis.is_answering("127.0.0.1", port)  # stopped when the command ended


# --- a real worker ------------------------------------------------------------------------


@pytest.mark.worker
def test_real_worker_runs_delayed_tasks_against_the_test_database_once_per_token(
    celery_worker_process: WorkerProcess, tenant: Tenant
):
    token, later = uuid.uuid4().hex, uuid.uuid4().hex

    healthcheck_roundtrip.delay(tenant.pk, token)
    healthcheck_roundtrip.delay(tenant.pk, token)  # redelivered or sent twice: recorded once
    healthcheck_roundtrip.delay(tenant.pk, later)  # one process, FIFO: once this is in, both above ran

    wait_for(lambda: roundtrip_entries(tenant, later), message=celery_worker_process.log)
    [entry] = roundtrip_entries(tenant, token)
    assert entry.after is not None
    # Ran in a pool process of that worker, not in this test process.
    assert os.getpgid(entry.after["pid"]) == celery_worker_process.pid
    assert audit_verify(tenant=tenant) == []


@pytest.mark.worker
def test_task_sent_while_the_worker_is_dead_runs_after_restart(celery_worker_process: WorkerProcess, tenant: Tenant):
    first_pid = celery_worker_process.pid
    celery_worker_process.kill(signal.SIGKILL)
    assert not celery_worker_process.is_alive()
    # Redis must have dropped the dead worker's blocking pop first: a message pushed before it
    # notices the closed socket is handed to that dead client and lost (no broker keeps a message
    # popped by a consumer that died before reading it; what is tested is the restart).
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def blocked_clients() -> int:
        info = broker.info("clients")
        assert isinstance(info, dict)
        return int(info["blocked_clients"])

    wait_for(lambda: blocked_clients() == 0, message="a dead worker still blocks on the queue")
    token = uuid.uuid4().hex

    healthcheck_roundtrip.delay(tenant.pk, token)
    celery_worker_process.restart()

    assert celery_worker_process.pid != first_pid
    [entry] = wait_for(lambda: roundtrip_entries(tenant, token), message=celery_worker_process.log)
    assert entry.after is not None
    assert os.getpgid(entry.after["pid"]) == celery_worker_process.pid


# --- process definitions ------------------------------------------------------------------


def test_procfile_and_docker_compose_run_the_same_commands():
    procfile = {}
    for line in (settings.BASE_DIR / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            procfile[name.strip()] = shlex.split(command)
    services = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())["services"]

    for name in ("web", "worker", "beat"):
        assert services[name]["command"] == procfile[name], name
