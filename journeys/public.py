"""Seed 004's public journey API: a run's status, and triggering a run, with ``x-api-key``.

A run's status is readable with a key of any role; triggering is a write (editor). Unknown
runs and journeys, and those of another tenant, are 404; a malformed UUID is 400; a missing or
bad key is 401.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from journeys import services
from journeys.models import ExecutionRun, Plan
from journeys.serializers import PublicRunSerializer, TriggerSerializer
from kaireon.authentication import ApiKeyAuthentication
from kaireon.permissions import RolePermission
from kaireon.principal import Principal

# Seed 004's form only: 8-4-4-4-12 hex digits (uuid.UUID alone also takes braces, urn:uuid: and
# no hyphens).
CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _uuid(value: str, name: str) -> uuid.UUID:
    if not CANONICAL_UUID.fullmatch(value):
        raise exceptions.ValidationError({name: [f"{value!r} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."]})
    return uuid.UUID(value)


class PublicView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [RolePermission]

    @property
    def principal(self) -> Principal:
        principal = self.request.auth
        assert isinstance(principal, Principal)
        return principal


class PublicRunView(PublicView):
    @extend_schema(
        operation_id="public_journey_run",
        parameters=[OpenApiParameter("runId", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses=PublicRunSerializer,
    )
    def get(self, request: Request, runId: str) -> Response:
        """Get journey run status (seed 004): queued, running, completed, failed or exited."""
        run_id = _uuid(runId, "runId")
        run = ExecutionRun.objects.select_related("plan").filter(tenant=self.principal.tenant, pk=run_id).first()
        if run is None:
            raise exceptions.NotFound("No such journey run.")
        return Response(PublicRunSerializer(run).data)


class PublicTriggerView(PublicView):
    @extend_schema(
        operation_id="public_journey_trigger",
        parameters=[
            OpenApiParameter("journeyId", OpenApiTypes.UUID, OpenApiParameter.PATH),
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="The same key and body answer the same run (200); another body is a 409.",
            ),
        ],
        request=TriggerSerializer,
        responses={201: PublicRunSerializer, 200: PublicRunSerializer},
    )
    def post(self, request: Request, journeyId: str) -> Response:
        """Start the journey for a profile (profileId) or a contact (contactId, the externalId)."""
        journey_id = _uuid(journeyId, "journeyId")
        tenant = self.principal.tenant
        plan = Plan.objects.filter(tenant=tenant, public_uuid=journey_id).first()
        if plan is None:
            raise exceptions.NotFound("No such journey.")
        body = TriggerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        key = (request.headers.get("Idempotency-Key") or "").strip() or None
        if key is not None and len(key) > 255:
            raise exceptions.ValidationError({"idempotencyKey": ["At most 255 characters."]})
        run, created = services.run_trigger(
            tenant=tenant,
            actor=self.principal,
            plan=plan,
            body={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()},
            contact_id=data.get("contact_id"),
            profile_id=data.get("profile_id"),
            variables=data["variables"],
            idempotency_key=key,
        )
        run = ExecutionRun.objects.select_related("plan").get(pk=run.pk)
        return Response(
            PublicRunSerializer(run).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
