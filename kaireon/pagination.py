from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from kaireon.listcounts import exact_total
from kaireon.paging import query_int

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class ListPagination(LimitOffsetPagination):
    """``?limit`` (default 50, at most 200) and ``?offset``; answers ``{"<plural>": [...], "total": N}``.

    The plural is the view's ``list_key`` (``runs``, ``decisionFlows``...). A limit above the
    maximum is served at the maximum; one that is not a positive integer is a 400.
    """

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT
    list_key = "results"

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        return list(super().paginate_queryset(queryset, request, view) or [])

    def get_count(self, queryset: Any) -> int:
        """The exact total: from the table's counters when they can answer the filters, else COUNT."""
        return exact_total(queryset) if isinstance(queryset, QuerySet) else super().get_count(queryset)

    def get_limit(self, request: Request) -> int:
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return self.default_limit
        limit = query_int(raw)
        if limit is None or limit < 1:
            raise serializers.ValidationError({"limit": [f"Must be an integer from 1 to {self.max_limit}."]})
        return min(limit, self.max_limit)

    def get_offset(self, request: Request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        offset = query_int(raw)
        if offset is None:
            raise serializers.ValidationError({"offset": ["Must be a non-negative integer."]})
        return offset

    def get_paginated_response(self, data: Any) -> Response:
        return Response({self.list_key: data, "total": self.count})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": [self.list_key, "total"],
            "properties": {self.list_key: schema, "total": {"type": "integer", "example": 12}},
        }


@cache
def list_pagination(list_key: str) -> type[ListPagination]:
    """The paginator class of one resource, so the OpenAPI schema names its list key."""
    name = f"{list_key[:1].upper()}{list_key[1:]}Pagination"
    return type(name, (ListPagination,), {"list_key": list_key})
