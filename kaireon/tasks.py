"""Operational tasks of the kaireon app."""

from __future__ import annotations

from celery import shared_task

from kaireon.services import worker_roundtrip_record


@shared_task(name="kaireon.healthcheck_roundtrip")
def healthcheck_roundtrip(tenant_id: str, token: str) -> None:
    """Prove a worker sees the database (idempotent: a token is recorded once)."""
    worker_roundtrip_record(tenant_id=tenant_id, token=token)
