"""The API's JSON renderer: snake_case names to camelCase (``camelize``), then JSON."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.utils.encoding import force_str
from django.utils.functional import Promise
from djangorestframework_camel_case.render import CamelCaseJSONRenderer as _CamelCaseJSONRenderer
from djangorestframework_camel_case.util import camelize_re, is_iterable, underscore_to_camel
from rest_framework.utils.serializer_helpers import ReturnDict


class CamelCaseJSONRenderer(_CamelCaseJSONRenderer):
    """The library's renderer, options (``json_underscoreize``) included, with the faster camelize."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        # the JSON renderer under the library's, which would camelize the body a second time
        return super(_CamelCaseJSONRenderer, self).render(
            camelize(data, **self.json_underscoreize), accepted_media_type, renderer_context
        )


def camelize(data: Any, **options: Any) -> Any:
    """``djangorestframework_camel_case.util.camelize``, the same answer for every input, with each
    key's spelling remembered: the library runs a regular expression over every key of every row
    and repacks its options at every level, a third of the time of a 50-row list."""
    return _camelize(data, tuple(options.get("ignore_fields") or ()), tuple(options.get("ignore_keys") or ()))


@lru_cache(maxsize=8192)
def _camel_key(key: str) -> str:
    return camelize_re.sub(underscore_to_camel, key)


def _camelize(data: Any, ignore_fields: tuple[str, ...], ignore_keys: tuple[str, ...]) -> Any:
    if data is None or isinstance(data, str | int | float):  # as they are (not iterable, or text)
        return data
    if isinstance(data, Promise):
        data = force_str(data)
    if isinstance(data, dict):
        converted: dict[Any, Any] = ReturnDict(serializer=data.serializer) if isinstance(data, ReturnDict) else {}
        for key, value in data.items():
            if isinstance(key, Promise):
                key = force_str(key)
            new_key = _camel_key(key) if isinstance(key, str) and "_" in key else key
            if key not in ignore_fields and new_key not in ignore_fields:
                value = _camelize(value, ignore_fields, ignore_keys)
            converted[key if key in ignore_keys or new_key in ignore_keys else new_key] = value
        return converted
    if is_iterable(data) and not isinstance(data, str):
        return [_camelize(item, ignore_fields, ignore_keys) for item in data]
    return data
