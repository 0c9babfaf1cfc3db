"""The catalogue pages' words: conditions, contact policies and creative tokens as people read them."""

from __future__ import annotations

import pytest

from decisionflows.models import Channel, ContactPolicy, Offer
from decisionflows.templatetags.decisionflows_ui import condition_words, highlight_tokens, policy_words
from tests.pages.catalogue_fixtures import text_of


def words(condition: object) -> str:
    return text_of(str(condition_words(condition)))


def test_conditions_in_words():
    assert words({}) == "every customer"
    assert words({"all": []}) == "every customer"
    assert words({"field": "customer.age", "operator": "lt", "value": 30}) == "customer age is less than 30"
    assert words({"field": "customer.tier", "operator": "in", "value": ["gold", "silver"]}) == (
        "customer tier is one of “gold”, “silver”"
    )
    assert words({"field": "customer.email", "operator": "is_null"}) == "customer email is empty"
    assert words({"field": "customer.unsubscribed", "operator": "eq", "value": False}) == "customer unsubscribed is no"
    assert words({"field": "offer.category", "operator": "starts_with", "value": "card"}) == (
        "offer category starts with “card”"
    )
    nested = {
        "all": [
            {"field": "customer.age", "operator": "gte", "value": 18},
            {
                "any": [
                    {"field": "customer.tier", "operator": "eq", "value": "gold"},
                    {"field": "customer.vip", "operator": "eq", "value": True},
                ]
            },
        ]
    }
    assert words(nested) == ("all of: customer age is at least 18 any of: customer tier is “gold” customer vip is yes")
    # a single-item group reads as its item
    assert words({"any": [{"field": "customer.age", "operator": "gt", "value": 65}]}) == "customer age is more than 65"


def test_condition_values_are_escaped():
    html = str(condition_words({"field": "customer.name", "operator": "eq", "value": "<script>"}))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_tokens_are_marked_and_text_escaped():
    html = str(highlight_tokens('<b>Hi</b> {{customer.first_name | "you"}}!'))
    assert html == '&lt;b&gt;Hi&lt;/b&gt; <mark class="df-token">{{customer.first_name | &quot;you&quot;}}</mark>!'
    assert str(highlight_tokens("")) == ""


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (ContactPolicy(policy_type="frequency_cap", max_count=1, period="day", scope="global"),
         "At most 1 contact per day, across every channel and offer"),
        (ContactPolicy(policy_type="frequency_cap", max_count=2, period="week", scope="channel",
                       channel=Channel(name="Email")), "At most 2 contacts per week on Email"),
        (ContactPolicy(policy_type="frequency_cap", max_count=3, period="month", scope="offer",
                       offer=Offer(name="Gold Card")), "At most 3 contacts of Gold Card per month"),
        (ContactPolicy(policy_type="cooldown", cooldown_hours=24), "The same offer at most once every 1 day"),
        (ContactPolicy(policy_type="cooldown", cooldown_hours=1), "The same offer at most once every 1 hour"),
        (ContactPolicy(policy_type="suppression", suppress_unsubscribed=True),
         "Never contact unsubscribed customers"),
    ],
)  # fmt: skip
def test_policies_in_words(policy, expected):
    assert policy_words(policy) == expected
