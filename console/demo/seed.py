"""Load the demo tenants: users, catalogue, customers, segments, campaigns, journeys and, on
request, one run.

Everything tenant-owned goes through the services, so it is validated and audited, except the
customers, which are written in bulk (``console.demo.customers``) under one audit entry.
Idempotent by get-or-create: each object is looked up by its natural key (username, slug,
attribute or channel name, offer key...) and created only when missing; what exists is left as
it is, even if someone edited it, so a second call writes nothing and audits nothing. A journey
is published and its first customers enrolled in the same transaction as its creation, and only
then: the runs of a journey already there are left to carry on (or to have been cancelled).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_create
from console.demo import customers as demo_customers
from console.demo.bank import BANK, CREDIT_CARD_NBA, HIGH_VALUE
from console.demo.catalogue import TenantSpec, creative_texts
from console.demo.retail import RETAIL
from decisionflows import services as df
from decisionflows.models import Channel, ContactPolicy, Creative, DecisionFlow, FlowStatus, Offer
from journeys import services as journey_services
from journeys.models import ExecutionRun, Plan
from kaireon.models import Membership, Role, Tenant
from kaireon.services import audit_record, membership_set, tenant_create
from runs.models import Run, RunStatus
from runs.services import run_create, run_execute_inline
from segments import services as seg
from segments.models import Customer, CustomerAttribute, Segment

PASSWORD = "kaireon-demo"  # noqa: S105  (the public password of the demo logins, printed by make run)
DEFAULT_CUSTOMERS = 50_000
DEFAULT_SEED = 42

# (username, is Django staff and superuser, {tenant slug: role})
USERS: tuple[tuple[str, bool, dict[str, str]], ...] = (
    ("demo-admin", True, {BANK.slug: Role.ADMIN, RETAIL.slug: Role.ADMIN}),
    ("demo-editor", False, {BANK.slug: Role.EDITOR}),
    ("demo-viewer", False, {BANK.slug: Role.VIEWER}),
)
RUN_NAME = "Demo: Credit Card NBA x High Value Customers"

T = TypeVar("T")


@dataclass
class Tally:
    created: int = 0
    present: int = 0


@dataclass
class CustomerLoad:
    tenant: str
    total: int
    written: int
    seconds: float


@dataclass
class DemoReport:
    """What a call created and what it found already there, for the command's summary."""

    seed: int
    tallies: dict[str, Tally] = field(default_factory=dict)
    customers: list[CustomerLoad] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    run: Run | None = None
    seconds: float = 0.0

    def count(self, kind: str, *, created: bool, number: int = 1) -> None:
        tally = self.tallies.setdefault(kind, Tally())
        if created:
            tally.created += number
        else:
            tally.present += number

    def lines(self) -> list[str]:
        created = [f"{kind} {t.created}" for kind, t in self.tallies.items() if t.created]
        present = [f"{kind} {t.present}" for kind, t in self.tallies.items() if t.present]
        out = [f"Demo data (seed {self.seed}) ready in {self.seconds:.1f} s."]
        out.append("  created:          " + (", ".join(created) or "nothing"))
        out.append("  already present:  " + (", ".join(present) or "nothing"))
        for load in self.customers:
            done = f"{load.written:,} written in {load.seconds:.1f} s" if load.written else "already loaded"
            out.append(f"  customers:        {load.tenant}: {load.total:,} ({done})")
        if self.run is not None:
            out.append(
                f"  run:              {self.run.name}: {self.run.status}, "
                f"{self.run.processed_customers:,} customers, {self.run.recommendation_count:,} recommendations"
            )
        out.append("  timings:          " + ", ".join(f"{phase} {s:.1f} s" for phase, s in self.timings.items()))
        return out


@dataclass
class _Loaded:
    tenant: Tenant
    flows: dict[str, DecisionFlow]
    segments: dict[str, Segment]
    campaigns: dict[str, Campaign]
    journeys: dict[str, Plan]


class _Seeder:
    def __init__(self, report: DemoReport) -> None:
        self.report = report
        self._password: str | None = None

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.report.timings[phase] = self.report.timings.get(phase, 0.0) + time.perf_counter() - started

    def ensure(self, kind: str, existing: T | None, create: Callable[..., T], **arguments: Any) -> T:
        """``existing`` if there is one, else ``create(**arguments)``; counted either way."""
        self.report.count(kind, created=existing is None)
        return existing if existing is not None else create(**arguments)

    # --- users -----------------------------------------------------------------------------

    def users(self) -> dict[str, Any]:
        User = get_user_model()
        return {
            username: self.ensure(
                "users",
                User.objects.filter(username=username).first(),
                self._user_create,
                username=username,
                staff=staff,
            )
            for username, staff, _ in USERS
        }

    def _user_create(self, *, username: str, staff: bool) -> Any:
        if self._password is None:
            # One hash for the three users, who share the password: PBKDF2 costs ~0.3 s a call.
            self._password = make_password(PASSWORD)
        return get_user_model().objects.create(
            username=username,
            email=f"{username}@example.com",
            password=self._password,
            is_staff=staff,
            is_superuser=staff,
        )

    # --- one tenant --------------------------------------------------------------------------

    def tenant(self, spec: TenantSpec, users: dict[str, Any], *, count: int, seed: int) -> _Loaded:
        with self.timed("catalogue"), transaction.atomic():
            tenant = self.ensure(
                "tenants",
                Tenant.objects.filter(slug=spec.slug).first(),
                tenant_create,
                slug=spec.slug,
                name=spec.name,
            )
            for username, _, roles in USERS:
                if spec.slug in roles:
                    user = users[username]
                    self.ensure(
                        "memberships",
                        Membership.objects.filter(user=user, tenant=tenant).first(),
                        membership_set,
                        tenant=tenant,
                        actor=None,
                        user=user,
                        role=roles[spec.slug],
                    )
            self.schema(tenant, spec)
            channels = self.channels(tenant, spec)
            offers = self.offers(tenant, spec, channels)
            policies = self.policies(tenant, spec, channels)
            loaded_flows = self.flows(tenant, spec, policies)
        with self.timed("customers"):
            written = self.customers(tenant, spec, count=count, seed=seed)
        with self.timed("segments"), transaction.atomic():
            loaded_segments = self.segments(tenant, spec, recount=written > 0)
        with self.timed("campaigns"), transaction.atomic():
            loaded_campaigns = self.campaigns(tenant, spec, loaded_flows, loaded_segments)
        with self.timed("journeys"):
            loaded_journeys = self.journeys(tenant, spec, channels, offers)
        return _Loaded(tenant, loaded_flows, loaded_segments, loaded_campaigns, loaded_journeys)

    def schema(self, tenant: Tenant, spec: TenantSpec) -> None:
        for name, type_, label in spec.schema:
            self.ensure(
                "attributes",
                CustomerAttribute.objects.filter(tenant=tenant, name=name).first(),
                seg.customer_attribute_create,
                tenant=tenant,
                actor=None,
                data={"name": name, "type": type_, "label": label},
            )

    def channels(self, tenant: Tenant, spec: TenantSpec) -> dict[str, Channel]:
        return {
            data["name"]: self.ensure(
                "channels",
                Channel.objects.filter(tenant=tenant, name=data["name"]).first(),
                df.channel_create,
                tenant=tenant,
                actor=None,
                data=copy.deepcopy(data),
            )
            for data in spec.channels
        }

    def offers(self, tenant: Tenant, spec: TenantSpec, channels: dict[str, Channel]) -> dict[str, Offer]:
        today = timezone.localdate()
        offers: dict[str, Offer] = {}
        for offer_spec in spec.offers:
            offer = self.ensure(
                "offers",
                Offer.objects.filter(tenant=tenant, key=offer_spec.key).first(),
                df.offer_create,
                tenant=tenant,
                actor=None,
                data=copy.deepcopy(offer_spec.data(today)),
            )
            offers[offer_spec.key] = offer
            for channel_name in offer_spec.channels:
                channel = channels[channel_name]
                name = f"{offer_spec.name} - {channel_name}"
                texts = creative_texts(offer_spec, channel.channel_type)
                self.ensure(
                    "creatives",
                    Creative.objects.filter(offer=offer, channel=channel, name=name).first(),
                    df.creative_create,
                    tenant=tenant,
                    actor=None,
                    data={"offer": offer, "channel": channel, "name": name, **texts},
                )
        return offers

    def policies(self, tenant: Tenant, spec: TenantSpec, channels: dict[str, Channel]) -> dict[str, ContactPolicy]:
        found: dict[str, ContactPolicy] = {}
        for data in spec.policies:
            values = dict(data)
            if "channel" in values:
                values["channel"] = channels[values["channel"]]
            found[data["name"]] = self.ensure(
                "contact policies",
                ContactPolicy.objects.filter(tenant=tenant, name=data["name"]).first(),
                df.contact_policy_create,
                tenant=tenant,
                actor=None,
                data=values,
            )
        return found

    def flows(self, tenant: Tenant, spec: TenantSpec, policies: dict[str, ContactPolicy]) -> dict[str, DecisionFlow]:
        found: dict[str, DecisionFlow] = {}
        for flow_spec in spec.flows:
            data = copy.deepcopy({k: v for k, v in flow_spec.items() if k != "policy_names"})
            if "policy_names" in flow_spec:
                for node in data["pipeline"]:
                    if node["type"] == "contact_policy":
                        node["policy_ids"] = [policies[name].pk for name in flow_spec["policy_names"]]
            flow = self.ensure(
                "decision flows",
                DecisionFlow.objects.filter(tenant=tenant, key=flow_spec["key"]).first(),
                df.decision_flow_create,
                tenant=tenant,
                actor=None,
                data=data,
            )
            # Published once, when active: a flow someone paused or archived since stays as it is.
            if flow.latest_version is not None:
                self.report.count("published versions", created=False)
            elif flow.status == FlowStatus.ACTIVE:
                df.decision_flow_publish(tenant=tenant, actor=None, flow=flow)
                self.report.count("published versions", created=True)
            found[flow.key] = flow
        return found

    def customers(self, tenant: Tenant, spec: TenantSpec, *, count: int, seed: int) -> int:
        """Write the spec's customers that are missing (none when the count already matches)."""
        started = time.perf_counter()
        existing = Customer.objects.filter(tenant=tenant).count()
        written = 0
        if existing != count:
            have = set(Customer.objects.filter(tenant=tenant).values_list("external_id", flat=True))
            wanted = demo_customers.generate(count, seed, prefix=spec.customer_prefix, retail=spec.retail)
            written = demo_customers.write(
                tenant_id=tenant.pk, customers=(c for c in wanted if c.external_id not in have)
            )
        if written:
            audit_record(
                tenant=tenant,
                actor=None,
                action="import",
                object_type="customer",
                object_id=f"demo:{spec.customer_prefix}",
                after={"created": written, "seed": seed, "source": "seed_demo"},
            )
        total = Customer.objects.filter(tenant=tenant).count() if written else existing
        self.report.customers.append(CustomerLoad(spec.slug, total, written, time.perf_counter() - started))
        return written

    def segments(self, tenant: Tenant, spec: TenantSpec, *, recount: bool) -> dict[str, Segment]:
        """Segments come after the customers so that their counts are right; existing ones are
        recounted when customers were added."""
        found: dict[str, Segment] = {}
        for data in spec.segments:
            segment = Segment.objects.filter(tenant=tenant, name=data["name"]).first()
            if segment is not None and recount:
                segment = seg.segment_refresh(tenant=tenant, actor=None, segment=segment)
            found[data["name"]] = self.ensure(
                "segments",
                segment,
                seg.segment_create,
                tenant=tenant,
                actor=None,
                data=copy.deepcopy(data),
            )
        return found

    def campaigns(
        self, tenant: Tenant, spec: TenantSpec, flows: dict[str, DecisionFlow], segments: dict[str, Segment]
    ) -> dict[str, Campaign]:
        found: dict[str, Campaign] = {}
        for campaign_spec in spec.campaigns:
            data = copy.deepcopy({k: v for k, v in campaign_spec.items() if k not in ("flow", "segment")})
            data["decision_flow_id"] = flows[campaign_spec["flow"]].pk
            data["segment_id"] = segments[campaign_spec["segment"]].pk
            found[data["name"]] = self.ensure(
                "campaigns",
                Campaign.objects.filter(tenant=tenant, name=data["name"]).first(),
                campaign_create,
                tenant=tenant,
                actor=None,
                data=data,
            )
        return found

    def journeys(
        self, tenant: Tenant, spec: TenantSpec, channels: dict[str, Channel], offers: dict[str, Offer]
    ) -> dict[str, Plan]:
        found: dict[str, Plan] = {}
        for journey_spec in spec.journeys:
            plan = Plan.objects.filter(tenant=tenant, key=journey_spec["key"]).first()
            found[journey_spec["key"]] = self.ensure(
                "journeys",
                plan,
                self._journey_create,
                tenant=tenant,
                journey_spec=journey_spec,
                channels=channels,
                offers=offers,
            )
            if plan is not None:
                runs = ExecutionRun.objects.filter(plan=plan).count()
                self.report.count("journey runs", created=False, number=runs)
        return found

    @transaction.atomic
    def _journey_create(
        self,
        *,
        tenant: Tenant,
        journey_spec: dict[str, Any],
        channels: dict[str, Channel],
        offers: dict[str, Offer],
    ) -> Plan:
        """Create, publish and enrol the first ``enrol`` customers (suppressed ones are skipped)."""
        data = copy.deepcopy({k: v for k, v in journey_spec.items() if k != "enrol"})
        for step in data["steps"]:
            if "channel" in step:
                step["channelId"] = channels[step.pop("channel")].pk
            if "offer" in step:
                step["offerId"] = offers[step.pop("offer")].pk
        plan = journey_services.plan_create(tenant=tenant, actor=None, data=data)
        journey_services.plan_publish(tenant=tenant, actor=None, plan=plan)
        first = Customer.objects.filter(tenant=tenant).only("id", "tenant_id", "external_id").order_by("id")
        result = journey_services.execution_run_bulk_execute(
            tenant=tenant,
            actor=None,
            plan=plan,
            contacts=list(first[: journey_spec.get("enrol", 0)]),
            batch_size=1_000,
        )
        self.report.count("journey runs", created=True, number=result["created"])
        return plan

    # --- the optional run ------------------------------------------------------------------

    def run(self, bank: _Loaded) -> Run:
        flow = bank.flows[CREDIT_CARD_NBA]
        segment = bank.segments[HIGH_VALUE]
        done = (
            Run.objects.filter(
                tenant=bank.tenant,
                decision_flow=flow,
                segment=segment,
                status__in=[RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ERRORS],
            )
            .order_by("-created_at")
            .first()
        )

        def execute() -> Run:
            run = run_create(
                tenant=bank.tenant,
                actor=None,
                decision_flow_id=flow.pk,
                segment_id=segment.pk,
                name=RUN_NAME,
                dispatch=False,
            )
            return run_execute_inline(run_id=run.pk)

        with self.timed("run"):
            return self.ensure("runs", done, execute)


def demo_seed(*, customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED, with_run: bool = False) -> DemoReport:
    """Create whatever of the demo data is missing: the users, the two tenants, ``customers``
    bank customers drawn from ``seed`` and, with ``with_run``, one completed run."""
    started = time.perf_counter()
    report = DemoReport(seed=seed)
    seeder = _Seeder(report)
    with seeder.timed("users"):
        users = seeder.users()
    bank = seeder.tenant(BANK, users, count=customers, seed=seed)
    seeder.tenant(RETAIL, users, count=RETAIL.customers if RETAIL.customers is not None else customers, seed=seed)
    if with_run:
        report.run = seeder.run(bank)
    report.seconds = time.perf_counter() - started
    return report
