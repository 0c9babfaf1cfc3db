"""Segments and their views. Views are created, replaced and dropped inside the service's
transaction (DDL is transactional on PostgreSQL and SQLite alike), so a segment row and its
view never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kaireon.errors import ValidationError
from kaireon.models import Tenant
from kaireon.services import Actor, audit_record, snapshot
from segments import locks, selectors, sql
from segments.models import Segment
from segments.services._shared import changes


def _check_segment_name(*, tenant: Tenant, name: str, exclude: str | None = None) -> None:
    clash = Segment.objects.filter(tenant=tenant, name=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ValidationError({"name": f"the tenant already has a segment named {name!r}"})


def _build_view(segment: Segment) -> None:
    """(Re)create the segment's view and count it. Runs inside the caller's transaction."""
    try:
        where = selectors.customer_where(tenant=segment.tenant, filters=segment.filters)
    except sql.CompileError as exc:
        raise ValidationError({"filters": str(exc)}) from None
    view_name = sql.view_name_for(segment.pk)
    with connection.cursor() as cursor:
        for statement in sql.create_view_sql(view_name=view_name, where=where, vendor=connection.vendor):
            cursor.execute(statement)
    segment.view_name = view_name
    segment.customer_count = selectors.segment_count(segment)
    segment.last_refreshed_at = timezone.now()


_SEGMENT_AUDIT_EXCLUDE = ["last_refreshed_at"]


@transaction.atomic
def segment_create(*, tenant: Tenant, actor: Actor, data: Mapping[str, Any]) -> Segment:
    """Create a segment, its view and its count; the filters are checked first (400 naming the path)."""
    _check_segment_name(tenant=tenant, name=data["name"])
    segment = Segment(
        tenant=tenant,
        name=data["name"],
        description=data.get("description", ""),
        filters=selectors.validated_filters(tenant=tenant, filters=data.get("filters")),
    )
    segment.save(force_insert=True)
    _build_view(segment)
    segment.save(update_fields=["view_name", "customer_count", "last_refreshed_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="create",
        instance=segment,
        after=snapshot(segment, exclude=_SEGMENT_AUDIT_EXCLUDE),
    )
    return segment


@transaction.atomic
def segment_update(*, tenant: Tenant, actor: Actor, instance: Segment, data: Mapping[str, Any]) -> Segment:
    """Change name, description or filters; new filters replace the view and recount."""
    segment = locks.segment_for_update().get(pk=instance.pk, tenant=tenant)
    before = snapshot(segment, exclude=_SEGMENT_AUDIT_EXCLUDE)
    if "name" in data and data["name"] != segment.name:
        _check_segment_name(tenant=tenant, name=data["name"], exclude=segment.pk)
        segment.name = data["name"]
    if "description" in data:
        segment.description = data["description"]
    rebuild = not segment.view_name
    if "filters" in data:
        filters = selectors.validated_filters(tenant=tenant, filters=data["filters"])
        rebuild = rebuild or filters != segment.filters
        segment.filters = filters
    if rebuild:
        _build_view(segment)
    segment.save()
    changed_before, changed_after = changes(before, snapshot(segment, exclude=_SEGMENT_AUDIT_EXCLUDE))
    if changed_after:
        audit_record(
            tenant=tenant, actor=actor, action="update", instance=segment, before=changed_before, after=changed_after
        )
    return segment


@transaction.atomic
def segment_refresh(*, tenant: Tenant, actor: Actor, segment: Segment) -> Segment:
    """Recreate the view from the current filters and schema, and recount the segment."""
    segment = locks.segment_for_update().get(pk=segment.pk, tenant=tenant)
    before = {"customer_count": segment.customer_count, "view_name": segment.view_name}
    _build_view(segment)
    segment.save(update_fields=["view_name", "customer_count", "last_refreshed_at", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="refresh",
        instance=segment,
        before=before,
        after={"customer_count": segment.customer_count, "view_name": segment.view_name},
    )
    return segment


@transaction.atomic
def segment_delete(*, tenant: Tenant, actor: Actor, instance: Segment) -> None:
    """Delete the segment and drop its view (the row goes first: a protected row stops both).

    Lock order, the same as every run's (segments.locks): the segment (waiting for whoever uses
    it: a run being created, a journey enrolling), then the runs that name it (SET_NULL), then
    the tenant's audit chain last. Auditing first would hold the tenant while waiting on a run
    that is planning, itself about to audit: a deadlock. A second delete finds nothing to do."""
    segment = locks.segment_for_delete().filter(pk=instance.pk, tenant=tenant).first()
    if segment is None:
        return
    before = snapshot(segment, exclude=_SEGMENT_AUDIT_EXCLUDE)
    view_name = segment.view_name or sql.view_name_for(segment.pk)
    segment.delete()
    with connection.cursor() as cursor:
        cursor.execute(sql.drop_view_sql(view_name=view_name))
    audit_record(tenant=tenant, actor=actor, action="delete", instance=instance, before=before)
