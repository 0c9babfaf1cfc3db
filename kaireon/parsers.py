"""The API's JSON parser: the request body read by ``kaireon.jsonload.loads`` (what the project
accepts as JSON, for the API and the pages alike), then camelCase names to snake_case."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser as _CamelCaseJSONParser
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError, ValidationError

from kaireon.errors import too_large, upload_max_bytes
from kaireon.jsonload import JSONInputError, loads


class CamelCaseJSONParser(_CamelCaseJSONParser):
    """The API's JSON parser: camelCase keys to snake_case as before, through ``loads``. A problem
    at a path is a validation error of that field, the rest a parse error; both are 400s. A body
    beyond UPLOAD_MAX_BYTES is a 413."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = upload_max_bytes()
        # read one byte past the limit: a body that big is refused without being read whole
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise too_large("The request body")
        try:
            data = loads(raw.decode(encoding))
        except JSONInputError as exc:
            if exc.path:
                raise ValidationError({exc.path: [exc.message]}) from None
            raise ParseError(f"JSON parse error - {exc.message}") from None
        except ValueError as exc:  # malformed JSON or not in the declared encoding
            raise ParseError(f"JSON parse error - {exc}") from None
        return underscoreize(data, **self.json_underscoreize)
