from __future__ import annotations

import datetime as dt

import pytest

from decisionflows.personalization import Token, TokenError, parse_tokens, render, token_refs, validate_tokens

KNOWN = {"customer.first_name", "customer.tier", "offer.name", "offer.business_value"}


def test_parse_tokens_reads_fields_and_fallbacks():
    text = 'Hi {{customer.first_name | "there"}}, {{ offer.name }} {{customer.tier|"say \\"hi\\""}}'
    assert parse_tokens(text) == [
        Token('{{customer.first_name | "there"}}', "customer", "first_name", "there"),
        Token("{{ offer.name }}", "offer", "name", None),
        Token('{{customer.tier|"say \\"hi\\""}}', "customer", "tier", 'say "hi"'),
    ]


@pytest.mark.parametrize(
    "text", ["{{customer.first name}}", "{{customer}}", "{{offer.name | there}}", "{{}}", "{{ 1 + 1 }}"]
)
def test_malformed_tokens_are_errors_naming_the_token(text):
    with pytest.raises(TokenError) as info:
        parse_tokens(f"Hello {text}!")
    assert info.value.token == text
    assert text in info.value.message


@pytest.mark.parametrize(
    ("text", "near"),
    [
        ("Hi {{customer.first_name}, welcome", "{{customer.first_name}, welcome"),
        ("Hi customer.first_name}} and {{offer.name}}", "}} and "),
        ("{{offer.name}} then {{", "{{"),
    ],
)
def test_unclosed_or_stray_braces_are_errors_showing_where(text, near):
    with pytest.raises(TokenError) as info:
        parse_tokens(text)
    assert info.value.token == near
    assert "unclosed personalization token" in info.value.message


def test_validate_tokens_rejects_unknown_fields_and_namespaces():
    assert [t.ref for t in validate_tokens("{{customer.first_name}} {{offer.name}}", KNOWN)] == [
        "customer.first_name",
        "offer.name",
    ]
    with pytest.raises(TokenError, match=r"unknown personalization token \{\{customer.nickname\}\}"):
        validate_tokens("Hi {{customer.nickname}}", KNOWN)
    with pytest.raises(TokenError, match=r"\{\{channel.name\}\}: use customer.<field> or offer.<field>"):
        validate_tokens("{{channel.name}}", KNOWN)


def test_render_uses_values_then_fallbacks():
    text = (
        'Hi {{customer.first_name | "there"}}, {{offer.name}} is worth {{offer.business_value}} '
        '({{customer.tier | "standard"}})'
    )
    assert (
        render(
            text, {"first_name": "Ada", "attributes": {"tier": "gold"}}, {"name": "Gold Card", "business_value": 120}
        )
        == "Hi Ada, Gold Card is worth 120 (gold)"
    )
    # missing, None and blank values fall back; no fallback renders nothing
    assert render(text, {"first_name": "  "}, {"name": None}) == "Hi there,  is worth  (standard)"


def test_render_formats_values_and_leaves_other_text_alone():
    text = "{{customer.vip}} {{customer.since}} {{offer.tags}} {{not a token}} <b>&</b>"
    customer = {"vip": True, "since": dt.date(2024, 5, 1)}
    assert render(text, customer, {"tags": ["a", "b"]}) == "true 2024-05-01 a, b {{not a token}} <b>&</b>"


def test_token_refs_are_distinct_and_ordered_across_texts():
    assert token_refs("{{offer.name}} {{customer.first_name}}", "{{offer.name}} {{bad token}}", "") == [
        "offer.name",
        "customer.first_name",
    ]
