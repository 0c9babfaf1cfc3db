"""The public journey API (docs/api-contract.md §5): a run's status, and triggering a run, with ``x-api-key``.

A run's status is readable with a key of any role; triggering is a write (editor). Unknown
runs and journeys, and those of another tenant, are 404; an id outside the UUID pattern of
docs/api-contract.md §5.3 is 400; a missing or bad key is 401.
"""

from __future__ import annotations

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
from journeys.uuids import PUBLIC_UUID_PATTERN, is_public_uuid
from kaireon.authentication import ApiKeyAuthentication
from kaireon.permissions import RolePermission
from kaireon.principal import Principal


def _uuid(value: str, name: str) -> uuid.UUID:
    # Outside the pattern of docs/api-contract.md §5.3 (another version or variant too) is a malformed id, so a 400:
    # a 404 would say "well-formed, just not found".
    if not is_public_uuid(value):
        raise exceptions.ValidationError(
            {name: [f"{value!r} is not a UUID of the form (xxxxxxxx-xxxx-Vxxx-Nxxx-xxxxxxxxxxxx, V 1-8, N 8-b)."]}
        )
    return uuid.UUID(value)


def _uuid_parameter(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, pattern=PUBLIC_UUID_PATTERN)


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
        parameters=[_uuid_parameter("runId")],
        responses=PublicRunSerializer,
    )
    def get(self, request: Request, runId: str) -> Response:
        """Get journey run status: queued, running, completed, failed or exited."""
        run_id = _uuid(runId, "runId")
        run = ExecutionRun.objects.select_related("plan").filter(tenant=self.principal.tenant, pk=run_id).first()
        if run is None:
            raise exceptions.NotFound("No such journey run.")
        return Response(PublicRunSerializer(run).data)


class PublicTriggerView(PublicView):
    @extend_schema(
        operation_id="public_journey_trigger",
        parameters=[
            _uuid_parameter("journeyId"),
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
        run, created = services.execution_run_trigger(
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
        response = Response(
            PublicRunSerializer(run).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
        if created:
            response["Location"] = request.build_absolute_uri(f"/api/v1/public/journeys/runs/{run.pk}")
        return response
