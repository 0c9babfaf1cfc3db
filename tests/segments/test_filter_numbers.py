"""Numbers in segment filters at their limits (issue 10, section 3): a 400 stating the range."""

from __future__ import annotations

import pytest

from segments.models import Segment

pytestmark = pytest.mark.django_db

URL = "/api/v1/segments"
HUGE = 99999999999999999999999


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "age", "operator": "gte", "value": HUGE},
        {"field": "age", "operator": "in", "value": [1, -HUGE]},
    ],
)
def test_integers_beyond_64_bits_in_a_filter_are_a_400_stating_the_range(editor, schema, condition):
    for path in (URL, f"{URL}/preview"):
        response = editor.post(path, {"name": "Huge", "filters": condition}, format="json")
        assert response.status_code == 400, response.content
        (messages,) = response.json()["fields"].values()
        assert "from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807" in messages[0]
    assert not Segment.objects.exists()


def test_the_largest_integer_is_accepted(editor, schema):
    condition = {"field": "age", "operator": "lt", "value": 2**63 - 1}
    response = editor.post(f"{URL}/preview", {"filters": condition}, format="json")
    assert response.status_code == 200, response.content
