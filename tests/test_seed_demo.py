"""``manage.py seed_demo``: the demo tenants, logins, catalogue, customers, segments, campaigns
and journeys."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zoneinfo
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from campaigns.models import Campaign, CampaignRun
from console.demo import customers as demo_customers
from decisionflows.models import Channel, ContactPolicy, Creative, DecisionFlow, DecisionFlowVersion, Offer
from journeys import services as journey_services
from journeys.models import ExecutionRun, Plan, PlanVersion, RunEvent
from kaireon.models import AuditLog, Membership, Tenant
from kaireon.services import audit_verify
from runs.models import Recommendation, Run
from segments import selectors
from segments.models import Customer, CustomerAttribute, Segment

pytestmark = pytest.mark.django_db

PASSWORD = "kaireon-demo"
# Login throttling (django-axes) needs the request authenticate() is called for.
LOGIN_REQUEST = RequestFactory().post("/login/")
CUSTOMERS = 300


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--customers", str(CUSTOMERS), *args, stdout=out)
    return out.getvalue()


def bank() -> Tenant:
    return Tenant.objects.get(slug="demo")


def customers_hash(tenant: Tenant) -> str:
    digest = hashlib.sha256()
    for row in (
        Customer.objects.filter(tenant=tenant)
        .order_by("external_id")
        .values_list(
            "external_id", "email", "first_name", "last_name", "phone", "attributes", "suppressed", "unsubscribed"
        )
    ):
        digest.update(json.dumps(row, sort_keys=True).encode())
    return digest.hexdigest()


def row_counts() -> dict[str, int]:
    """Rows of every model."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


# --- logins --------------------------------------------------------------------------------


def test_seed_creates_the_three_logins_with_their_roles() -> None:
    seed()
    roles = {
        (m.user.username, m.tenant.slug): m.role for m in Membership.objects.select_related("user", "tenant").all()
    }
    assert roles == {
        ("demo-admin", "demo"): "admin",
        ("demo-editor", "demo"): "editor",
        ("demo-viewer", "demo"): "viewer",
        ("demo-admin", "demo-retail"): "admin",
    }
    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["demo-admin"].is_staff
    assert users["demo-admin"].is_superuser
    assert not users["demo-editor"].is_staff
    assert not users["demo-viewer"].is_superuser
    assert Tenant.objects.get(slug="demo").name == "Kaireon Demo Bank"
    assert Tenant.objects.get(slug="demo-retail").name == "Kaireon Demo Retail"


LOGINS = {
    "demo-admin": {"demo": "admin", "demo-retail": "admin"},
    "demo-editor": {"demo": "editor"},
    "demo-viewer": {"demo": "viewer"},
}


def test_demo_users_log_in_and_see_their_tenants() -> None:
    seed()
    for username, expected in LOGINS.items():
        client = Client()
        assert client.login(request=LOGIN_REQUEST, username=username, password=PASSWORD), username
        response = client.get("/api/v1/tenants")
        assert response.status_code == 200, username
        assert {t["slug"]: t["role"] for t in response.json()["tenants"]} == expected
        # only the admin gets into the Django admin; the others are sent to its login page
        assert client.get("/admin/").status_code == (200 if username == "demo-admin" else 302), username


def test_the_output_names_the_logins_and_what_was_created() -> None:
    output = seed()
    for text in ("demo-admin", "demo-editor", "demo-viewer", PASSWORD, f"{CUSTOMERS:,} written"):
        assert text in output
    assert "already present:  nothing" in output


# --- catalogue -----------------------------------------------------------------------------


def test_the_bank_catalogue_is_complete() -> None:
    seed()
    tenant = bank()
    schema = dict(CustomerAttribute.objects.filter(tenant=tenant).values_list("name", "type"))
    assert schema == {
        "age": "integer",
        "income": "number",
        "credit_score": "integer",
        "tier": "string",
        "city": "string",
        "country": "string",
        "tenure_months": "integer",
        "has_credit_card": "boolean",
        "has_mortgage": "boolean",
        "last_purchase_date": "date",
        "preferred_channel": "string",
        "churn_risk": "number",
        "balance": "number",
    }
    assert Channel.objects.filter(tenant=tenant).count() == 6
    offers = Offer.objects.filter(tenant=tenant)
    assert 12 <= offers.count() <= 18
    assert offers.filter(start_date__isnull=False, end_date__isnull=False).exists()
    assert {"cards", "loans"} <= set(offers.values_list("category", flat=True))
    assert all(offer.tags for offer in offers)
    assert offers.exclude(eligibility={}).count() >= 10
    per_offer = Counter(Creative.objects.filter(tenant=tenant).values_list("offer_id", flat=True))
    assert set(per_offer) == set(offers.values_list("id", flat=True))
    assert set(per_offer.values()) <= {2, 3}
    creative = Creative.objects.filter(tenant=tenant, channel__channel_type="email").first()
    assert creative is not None
    assert '{{customer.first_name | "there"}}' in creative.subject
    assert "{{offer.name}}" in creative.content
    policies = {p.name: p for p in ContactPolicy.objects.filter(tenant=tenant)}
    assert len(policies) == 4
    cap = policies["Global frequency cap"]
    assert (cap.policy_type, cap.max_count, cap.period, cap.scope) == ("frequency_cap", 3, "week", "global")
    assert policies["72-hour cooldown"].cooldown_hours == 72
    assert policies["Suppress opted-out customers"].suppress_suppressed
    assert policies["Suppress opted-out customers"].suppress_unsubscribed
    sms_cap = policies["SMS daily cap"]
    assert (sms_cap.max_count, sms_cap.period, sms_cap.scope) == (1, "day", "channel")
    assert sms_cap.channel is not None
    assert sms_cap.channel.channel_type == "sms"
    retail = Tenant.objects.get(slug="demo-retail")
    assert Offer.objects.filter(tenant=retail).exists()
    assert DecisionFlow.objects.get(tenant=retail).runnable
    assert not Run.objects.exists()  # only --with-run executes one


def test_every_delivery_mode_is_present() -> None:
    seed()
    channels = {c.channel_type: c for c in Channel.objects.filter(tenant=bank())}
    assert {c.delivery_mode for c in channels.values()} == {"file", "integration", "manual", "api"}
    assert channels["email"].delivery_mode == "file"
    assert channels["direct_mail"].delivery_mode == "file"
    assert channels["sms"].delivery_mode == "integration"
    assert channels["sms"].provider_config["webhookUrl"].startswith("http://127.0.0.1:8000/")
    assert channels["push"].delivery_mode == "integration"
    assert channels["call_center"].delivery_mode == "manual"
    assert channels["web"].delivery_mode == "api"


def test_both_flows_are_runnable_with_a_published_version() -> None:
    seed()
    client = Client()
    assert client.login(request=LOGIN_REQUEST, username="demo-editor", password=PASSWORD)
    body = client.get("/api/v1/decision-flows").json()
    flows = {flow["key"]: flow for flow in body["decisionFlows"]}
    assert set(flows) == {"credit-card-nba", "cross-sell"}
    for key, flow in flows.items():
        assert flow["status"] == "active", key
        assert flow["runnable"] is True, key
        assert flow["publishedVersion"] == 1, key
    nba = DecisionFlowVersion.objects.get(flow__key="credit-card-nba", tenant=bank()).pipeline
    nodes = {node["type"]: node for node in nba}
    assert [node["type"] for node in nba] == ["inventory", "qualify", "contact_policy", "score", "rank", "output"]
    assert nodes["inventory"]["categories"] == ["cards", "loans"]
    assert {rule["mode"] for rule in nodes["qualify"]["rules"]} == {"hard", "soft"}
    assert nodes["score"]["method"] == "prie"
    assert nodes["score"]["propensity_model"]["rules"]
    assert nodes["rank"] == {"type": "rank", "max_offers_per_customer": 2, "one_offer_per_channel": True}
    cross_sell = {node["type"]: node for node in DecisionFlowVersion.objects.get(flow__key="cross-sell").pipeline}
    assert cross_sell["inventory"]["include_all"] is True
    assert cross_sell["score"]["method"] == "priority_weighted"
    assert cross_sell["rank"]["max_offers_per_customer"] == 3


# --- customers and segments ----------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]


def _at_least(name: str, floor: float) -> Predicate:
    # segments' semantics: a missing value matches no comparison
    return lambda a: a.get(name) is not None and a[name] >= floor


SEGMENTS: dict[str, Predicate] = {
    "All Customers": lambda a: True,
    "High Value Customers": lambda a: _at_least("income", 100_000)(a) or a.get("tier") in ("gold", "platinum"),
    "Young Professionals": lambda a: (
        a.get("age") is not None and 22 <= a["age"] <= 35 and _at_least("income", 40_000)(a)
    ),
    "Churn Risk": _at_least("churn_risk", 0.7),
    "Mortgage Holders": lambda a: a.get("has_mortgage") is True,
}


def assert_segment_counts_match_python(tenant: Tenant) -> None:
    attributes = list(Customer.objects.filter(tenant=tenant).values_list("attributes", flat=True))
    segments = {s.name: s for s in Segment.objects.filter(tenant=tenant)}
    assert set(segments) == set(SEGMENTS)
    for name, matches in SEGMENTS.items():
        expected = sum(1 for a in attributes if matches(a))
        assert segments[name].customer_count == expected, name
        assert selectors.segment_count(segments[name]) == expected, name


def test_segment_counts_equal_a_count_in_python() -> None:
    seed()
    tenant = bank()
    assert Customer.objects.filter(tenant=tenant).count() == CUSTOMERS
    assert_segment_counts_match_python(tenant)
    counts = dict(Segment.objects.filter(tenant=tenant).values_list("name", "customer_count"))
    assert 0 < counts["High Value Customers"] < CUSTOMERS
    assert all(counts[name] > 0 for name in SEGMENTS)


def test_customers_are_varied_and_plausible() -> None:
    people = list(demo_customers.generate(20_000, 42))
    assert len({p.external_id for p in people}) == len(people)
    assert 0.02 < sum(p.suppressed for p in people) / len(people) < 0.04
    assert 0.04 < sum(p.unsubscribed for p in people) / len(people) < 0.06
    assert 0.02 < sum("income" not in p.attributes for p in people) / len(people) < 0.06
    assert {p.attributes["tier"] for p in people} == {"bronze", "silver", "gold", "platinum"}
    assert all(p.email.endswith((".com", ".org", ".net")) and "@" in p.email for p in people if p.email)
    ages = [p.attributes["age"] for p in people]
    assert min(ages) < 18 < 70 < max(ages)
    scores = [p.attributes["credit_score"] for p in people if "credit_score" in p.attributes]
    assert min(scores) >= 300
    assert max(scores) <= 850


def test_the_first_customers_of_a_seed_do_not_depend_on_the_total() -> None:
    # what lets a second call write only the customers that are missing
    assert list(demo_customers.generate(100, 7)) == list(demo_customers.generate(300, 7))[:100]


def _fresh_seed_hash(seed_value: int) -> str:
    """Seed inside a savepoint that is rolled back: each call starts from an empty database."""
    with transaction.atomic():
        call_command("seed_demo", "--customers", str(CUSTOMERS), "--seed", str(seed_value), stdout=io.StringIO())
        digest = customers_hash(bank())
        transaction.set_rollback(True)
    assert not Tenant.objects.exists()
    return digest


def test_the_same_seed_gives_the_same_customers() -> None:
    first = _fresh_seed_hash(42)
    assert _fresh_seed_hash(42) == first
    assert _fresh_seed_hash(43) != first


# --- campaigns and journeys ----------------------------------------------------------------


def test_the_demo_campaigns_are_there_with_their_schedules() -> None:
    seed()
    tenant = bank()
    campaigns = {c.name: c for c in Campaign.objects.filter(tenant=tenant).select_related("decision_flow", "segment")}
    assert set(campaigns) == {"Gold card push", "Monday cross-sell"}

    push = campaigns["Gold card push"]
    assert (push.status, push.schedule_type, push.next_run_at) == ("active", "manual", None)
    assert (push.decision_flow.key, push.segment.name) == ("credit-card-nba", "High Value Customers")
    assert push.volume_constraints == {"max_per_offer": 500}
    assert push.file_config is not None
    assert (push.file_config["format"], push.file_config["destination"]) == ("csv", "download")
    assert {"external_id", "email", "offer_name", "channel", "score"} <= set(push.file_config["columns"])

    weekly = campaigns["Monday cross-sell"]
    schedule = (
        weekly.status,
        weekly.schedule_type,
        weekly.schedule_day_of_week,
        weekly.schedule_time,
        weekly.schedule_timezone,
    )
    assert schedule == ("active", "weekly", 1, "09:00", "Europe/London")
    assert (weekly.decision_flow.key, weekly.segment.name) == ("cross-sell", "Young Professionals")
    assert weekly.file_config is not None
    assert weekly.file_config["format"] == "json"
    # the next Monday 09:00 in London, within the coming week
    assert weekly.next_run_at is not None
    now = timezone.now()
    assert now < weekly.next_run_at <= now + dt.timedelta(days=7)
    local = weekly.next_run_at.astimezone(zoneinfo.ZoneInfo("Europe/London"))
    assert (local.isoweekday(), local.hour, local.minute) == (1, 9, 0)
    assert not CampaignRun.objects.exists()  # seeding fires nothing

    retail = Campaign.objects.select_related("decision_flow", "segment").get(tenant__slug="demo-retail")
    assert (retail.name, retail.schedule_type, retail.next_run_at) == ("VIP sale preview", "manual", None)
    assert (retail.decision_flow.key, retail.segment.name) == ("retail-nba", "Gold Members")

    client = Client()
    assert client.login(request=LOGIN_REQUEST, username="demo-viewer", password=PASSWORD)
    listed = {c["name"]: c for c in client.get("/api/v1/campaigns").json()["campaigns"]}
    assert set(listed) == {"Gold card push", "Monday cross-sell"}
    assert listed["Gold card push"]["volumeConstraints"] == {"maxPerOffer": 500}
    assert listed["Monday cross-sell"]["scheduleDayOfWeek"] == 1


def _advance(ticks: int) -> None:
    """Move the journey clock, processing each tick's due runs here (no worker)."""
    for _ in range(ticks):
        tick, _ = journey_services.journeys_tick(dispatch=False)
        journey_services.journeys_drain(tick=tick)


def test_the_welcome_journey_is_published_with_the_first_customers_enrolled() -> None:
    output = seed()
    tenant = bank()
    plan = Plan.objects.get(tenant=tenant)
    assert (plan.key, plan.name, plan.status, plan.published_version) == (
        "welcome-series",
        "Welcome series",
        "active",
        1,
    )
    version = PlanVersion.objects.get(plan=plan)
    assert version.published_at is not None
    assert [step["type"] for step in version.steps] == ["send", "wait", "branch", "send", "end", "end"]
    steps = {step["id"]: step for step in version.steps}
    email = Channel.objects.get(tenant=tenant, name="Email")
    offers = dict(Offer.objects.filter(tenant=tenant).values_list("key", "id"))
    assert (steps["welcome"]["channelId"], steps["welcome"]["offerId"]) == (email.pk, offers["cashback-card"])
    assert (steps["upgrade"]["channelId"], steps["upgrade"]["offerId"]) == (email.pk, offers["platinum-card"])
    assert steps["pause"]["ticks"] == 3
    assert steps["tier"]["conditions"][0]["condition"]["field"] == "customer.tier"

    # the first 200 customers, less those who may not be contacted
    first = list(Customer.objects.filter(tenant=tenant).order_by("id")[:200])
    reachable = {c.pk for c in first if not c.suppressed and not c.unsubscribed}
    assert 150 < len(reachable) < 200
    runs = ExecutionRun.objects.filter(plan=plan)
    assert sorted(runs.values_list("customer_id", flat=True)) == sorted(reachable)
    assert set(runs.values_list("status", flat=True)) == {"active"}
    assert RunEvent.objects.filter(run__plan=plan, action="enrolled").count() == len(reachable)
    assert f"journeys 1, journey runs {len(reachable)}" in output

    # the plan works: everyone gets the first email, gold and platinum customers the second
    _advance(5)
    assert set(runs.values_list("status", flat=True)) == {"completed"}
    sent = RunEvent.objects.filter(run__plan=plan, step="upgrade", action="send")
    upgraded = set(sent.values_list("run__customer_id", flat=True))
    expected = {c.pk for c in first if c.pk in reachable and c.attributes.get("tier") in ("gold", "platinum")}
    assert upgraded == expected
    assert expected


# --- idempotence ---------------------------------------------------------------------------


def test_a_second_call_changes_nothing() -> None:
    seed("--with-run")
    counts = row_counts()
    audit_ids = set(AuditLog.objects.values_list("id", flat=True))
    heads = dict(Tenant.objects.values_list("slug", "audit_head"))
    fingerprint = customers_hash(bank())

    output = seed("--with-run")

    assert row_counts() == counts
    assert set(AuditLog.objects.values_list("id", flat=True)) == audit_ids
    assert dict(Tenant.objects.values_list("slug", "audit_head")) == heads
    assert customers_hash(bank()) == fingerprint
    assert "created:          nothing" in output
    assert "already loaded" in output
    assert "campaigns 3, journeys 1, journey runs " in output
    for tenant in Tenant.objects.all():
        assert audit_verify(tenant=tenant) == []


def test_a_second_call_does_not_enrol_the_journey_again_once_its_runs_are_over() -> None:
    seed()
    plan = Plan.objects.get(tenant=bank())
    enrolled = ExecutionRun.objects.filter(plan=plan).count()
    _advance(5)
    assert set(ExecutionRun.objects.filter(plan=plan).values_list("status", flat=True)) == {"completed"}
    counts = row_counts()

    output = seed()

    assert row_counts() == counts
    assert ExecutionRun.objects.filter(plan=plan).count() == enrolled
    assert Plan.objects.count() == 1
    assert Campaign.objects.count() == 3
    assert "created:          nothing" in output


def test_a_larger_count_adds_only_the_missing_customers_and_recounts_segments() -> None:
    call_command("seed_demo", "--customers", "200", stdout=io.StringIO())
    tenant = bank()
    before = dict(Customer.objects.filter(tenant=tenant).values_list("external_id", "id"))
    imports = AuditLog.objects.filter(tenant=tenant, action="import").count()

    seed()

    after = dict(Customer.objects.filter(tenant=tenant).values_list("external_id", "id"))
    assert len(after) == CUSTOMERS
    assert {k: after[k] for k in before} == before  # the first 200 were left alone
    assert AuditLog.objects.filter(tenant=tenant, action="import").count() == imports + 1
    assert_segment_counts_match_python(tenant)
    assert Segment.objects.filter(tenant=tenant).count() == len(SEGMENTS)


# --- the optional run ----------------------------------------------------------------------


def test_with_run_executes_one_completed_run_with_recommendations() -> None:
    output = seed("--with-run")
    run = Run.objects.select_related("decision_flow", "segment").get()
    assert run.status == "completed"
    assert run.decision_flow.key == "credit-card-nba"
    assert run.segment is not None
    assert run.segment.name == "High Value Customers"
    assert run.processed_customers == run.segment.customer_count > 0
    recommendations = list(Recommendation.objects.filter(run=run).values_list("customer_id", "channel_id"))
    assert len(recommendations) == run.recommendation_count > 0
    per_customer: dict[int, list[str]] = {}
    for customer_id, channel_id in recommendations:
        per_customer.setdefault(customer_id, []).append(channel_id)
    # rank: at most two offers each, on different channels
    assert all(len(channels) <= 2 and len(set(channels)) == len(channels) for channels in per_customer.values())
    assert "completed" in output


def test_a_negative_customer_count_is_refused() -> None:
    with pytest.raises(CommandError, match="--customers"):
        call_command("seed_demo", "--customers", "-1", stdout=io.StringIO())
