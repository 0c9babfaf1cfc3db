from __future__ import annotations

from celery import shared_task

from segments import services


@shared_task(
    name="segments.import_customers",
    autoretry_for=(services.ImportBusy,),
    # A duplicate delivery while the job runs elsewhere comes back after the lease: by then the
    # job has finished (a no-op) or its worker died (the retry takes it over).
    retry_backoff=int(services.IMPORT_LEASE.total_seconds()),
    retry_backoff_max=600,
    retry_jitter=False,
    max_retries=5,
    ignore_result=True,
)
def import_customers(job_id: str) -> None:
    """Run the import job ``job_id``. Idempotent: the job is claimed by a conditional UPDATE
    (pending → running) and rows are upserted by (tenant, externalId); a finished job is a no-op."""
    services.customer_import_run(job_id=job_id)
