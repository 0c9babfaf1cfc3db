"""The public trigger (docs/api-contract.md §5.5): a run started through the public API, with its Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from journeys import locks, selectors
from journeys.error_codes import JourneyErrorCode
from journeys.models import ExecutionRun, IdempotencyKey, Plan
from journeys.services.enrolment import customer_for, execution_run_execute
from kaireon.errors import Conflict, NotFound, ValidationError
from kaireon.models import Tenant
from kaireon.services import Actor
from segments.models import Customer


def request_hash(*, plan: Plan, body: Mapping[str, Any]) -> str:
    canonical = json.dumps({"journey": str(plan.public_uuid), "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _trigger_customer(*, tenant: Tenant, contact_id: str | None, profile_id: uuid.UUID | None) -> Customer:
    if contact_id:
        customer = customer_for(tenant=tenant, contact=contact_id)
        if profile_id is not None and selectors.profile_uuid(tenant.pk, customer.external_id) != profile_id:
            raise ValidationError({"profile_id": "Is not the profileId of contactId."})
        return customer
    assert profile_id is not None
    # profileIds are uuid5 of the externalId (not reversible): known once the contact has had a run.
    customer_id = (
        ExecutionRun.objects.filter(tenant=tenant, profile_id=profile_id).values_list("customer_id", flat=True).first()
    )
    found = Customer.objects.filter(tenant=tenant, pk=customer_id).first() if customer_id else None
    if found is None:
        raise NotFound(
            "Unknown profileId; give contactId (the externalId) for a contact new to journeys.", field="profile_id"
        )
    return found


@transaction.atomic
def execution_run_trigger(
    *,
    tenant: Tenant,
    actor: Actor,
    plan: Plan,
    body: Mapping[str, Any],
    contact_id: str | None = None,
    profile_id: uuid.UUID | None = None,
    variables: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> tuple[ExecutionRun, bool]:
    """The public trigger (docs/api-contract.md §5.5): enrol a contact; returns the run and whether it is new.
    With an ``Idempotency-Key`` the same key and body answer the first run again, another body
    is a 409. The plan lock serialises triggers of one journey; the unique (tenant, key) catches
    the same key racing on two journeys."""
    if not contact_id and profile_id is None:
        raise ValidationError({"contact_id": "Give profileId or contactId."})
    digest = request_hash(plan=plan, body=body)
    if idempotency_key:
        locks.plan_for_update().get(pk=plan.pk)  # triggers of one journey queue here
        stored = IdempotencyKey.objects.filter(tenant=tenant, key=idempotency_key).select_related("run").first()
        if stored is not None:
            if stored.request_hash != digest:
                raise Conflict(
                    "This Idempotency-Key was used with a different request.",
                    code=JourneyErrorCode.IDEMPOTENCY_KEY_REUSED,
                    reason=JourneyErrorCode.IDEMPOTENCY_KEY_REUSED,
                )
            return stored.run, False
    customer = _trigger_customer(tenant=tenant, contact_id=contact_id, profile_id=profile_id)
    run = execution_run_execute(tenant=tenant, actor=actor, plan=plan, contact=customer, variables=variables)
    if idempotency_key:
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(tenant=tenant, key=idempotency_key, request_hash=digest, run=run)
        except IntegrityError:
            raise Conflict(
                "This Idempotency-Key is being used by a concurrent request; retry.",
                code=JourneyErrorCode.IDEMPOTENCY_KEY_RACE,
                reason=JourneyErrorCode.IDEMPOTENCY_KEY_RACE,
            ) from None
    return run, True
