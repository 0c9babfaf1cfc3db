"""Every change to the catalogue and to decision flows. Each service is its own transaction,
writes an audit entry and bumps the tenant's catalogue version (what the Recommend API's cached
decision contexts are keyed by, decisionflows.realtime); validation runs on the row as it will
be after the change, so PUT and PATCH are checked alike, and errors are ``kaireon.errors``:
``ValidationError``s keyed by the field's path, ``Conflict`` for a delete of what is still used."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.utils import timezone

from decisionflows import locks, selectors
from decisionflows.models import (
    CapScope,
    Channel,
    Contact,
    ContactPolicy,
    Creative,
    DecisionFlow,
    DecisionFlowVersion,
    DeliveryMode,
    FlowStatus,
    Offer,
    PolicyType,
)
from decisionflows.personalization import TokenError, validate_tokens
from decisionflows.pipeline import PipelineError, validate_pipeline
from kaireon import rules
from kaireon.errors import Conflict, ValidationError
from kaireon.models import Tenant
from kaireon.services import (
    Actor,
    audit_record,
    catalogue_version_bump,
    instance_create,
    instance_delete,
    instance_update,
)
from kaireon.validators import INT32_MAX, in_range, range_message
from kaireon.webhooks import webhook_url_refusal

Data = Mapping[str, Any]
M = TypeVar("M", bound=models.Model)

MAX_TAGS = 50
MAX_TAG_LENGTH = 50


def _candidate(model: type[M], *, tenant: Tenant, instance: M | None, data: Data) -> M:
    """The row as it would be after the change: what a PATCH must leave valid."""
    candidate = copy.copy(instance) if instance is not None else model(tenant=tenant)
    for name, value in data.items():
        setattr(candidate, name, value)
    return candidate


def _ensure_unique(
    model: type[models.Model], *, tenant: Tenant, instance: models.Model | None, field: str, message: str, **lookup: Any
) -> None:
    rows = model._default_manager.filter(tenant=tenant, **lookup)
    if instance is not None:
        rows = rows.exclude(pk=instance.pk)
    if rows.exists():
        raise ValidationError({field: message})


def _ensure_tenant(related: models.Model | None, *, tenant: Tenant, field: str) -> None:
    """Defence in depth for callers other than the API (whose fields are tenant-scoped already)."""
    if related is not None and getattr(related, "tenant_id", None) != tenant.pk:
        raise ValidationError({field: f"No {related._meta.verbose_name} with id {related.pk!r} in this tenant."})


# --- channels ------------------------------------------------------------------------------

_webhook_url = URLValidator(schemes=["http", "https"])


def _is_http_url(url: Any) -> bool:
    try:
        _webhook_url(url if isinstance(url, str) else "")
    except DjangoValidationError:  # a Django validator's way of saying no
        return False
    return True


def provider_config_clean(*, delivery_mode: str, config: Any) -> dict[str, Any]:
    """The provider config of a channel with ``delivery_mode``, checked (also used by the admin)."""
    config = config if config is not None else {}
    if not isinstance(config, dict):
        raise ValidationError({"provider_config": "must be an object"})
    if delivery_mode == DeliveryMode.INTEGRATION:
        url = config.get("webhookUrl")
        if not url:
            raise ValidationError(
                {"provider_config.webhookUrl": "required for integration delivery: the http(s) URL deliveries go to"}
            )
        if not _is_http_url(url):
            raise ValidationError({"provider_config.webhookUrl": f"must be an http(s) URL (got {url!r})"})
        # Workers post to it from inside the network: no loopback, private or metadata hosts
        # (checked again after DNS at send time, campaigns.deliveries).
        refusal = webhook_url_refusal(url)
        if refusal is not None:
            raise ValidationError({"provider_config.webhookUrl": f"not allowed: {refusal}"})
    return config


def _channel_check(candidate: Channel, *, tenant: Tenant, instance: Channel | None) -> dict[str, Any]:
    _ensure_unique(
        Channel,
        tenant=tenant,
        instance=instance,
        field="name",
        message=f"A channel named {candidate.name!r} already exists.",
        name=candidate.name,
    )
    return {
        "provider_config": provider_config_clean(
            delivery_mode=candidate.delivery_mode, config=candidate.provider_config
        )
    }


@transaction.atomic
def channel_create(*, tenant: Tenant, actor: Actor, data: Data) -> Channel:
    """Create a channel; integration channels need ``providerConfig.webhookUrl``."""
    candidate = _candidate(Channel, tenant=tenant, instance=None, data=data)
    values = {**data, **_channel_check(candidate, tenant=tenant, instance=None)}
    channel: Channel = instance_create(tenant=tenant, actor=actor, model=Channel, data=values)
    catalogue_version_bump(tenant=tenant)
    return channel


@transaction.atomic
def channel_update(*, tenant: Tenant, actor: Actor, instance: Channel, data: Data) -> Channel:
    candidate = _candidate(Channel, tenant=tenant, instance=instance, data=data)
    values = {**data, **_channel_check(candidate, tenant=tenant, instance=instance)}
    channel: Channel = instance_update(tenant=tenant, actor=actor, instance=instance, data=values)
    catalogue_version_bump(tenant=tenant)
    return channel


def _ensure_never_contacted(*, tenant: Tenant, what: str, **where: str) -> None:
    """409 when the contact history (runs' recommendations included) names the object: its
    history and results must keep their meaning; set it inactive instead."""
    if Contact.objects.filter(tenant=tenant, **where).exists():
        raise Conflict(
            f"This {what} has been sent or recommended to customers (contact history, run results); "
            "set it inactive instead of deleting it."
        )


@transaction.atomic
def channel_delete(*, tenant: Tenant, actor: Actor, instance: Channel) -> None:
    """Delete a channel no creative, policy or contact refers to (else 409)."""
    _ensure_never_contacted(tenant=tenant, what="channel", channel_id=instance.pk)
    instance_delete(tenant=tenant, actor=actor, instance=instance)
    catalogue_version_bump(tenant=tenant)


# --- offers --------------------------------------------------------------------------------


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError({"tags": "expected a list of strings"})
    tags: list[str] = []
    for index, tag in enumerate(value):
        if not isinstance(tag, str) or not tag.strip():
            raise ValidationError({f"tags[{index}]": "a tag is a non-empty string"})
        if len(tag.strip()) > MAX_TAG_LENGTH:
            raise ValidationError({f"tags[{index}]": f"at most {MAX_TAG_LENGTH} characters"})
        if tag.strip() not in tags:
            tags.append(tag.strip())
    if len(tags) > MAX_TAGS:
        raise ValidationError({"tags": f"at most {MAX_TAGS} tags"})
    return tags


def _offer_check(candidate: Offer, *, tenant: Tenant, instance: Offer | None) -> dict[str, Any]:
    _ensure_unique(
        Offer,
        tenant=tenant,
        instance=instance,
        field="key",
        message=f"An offer with key {candidate.key!r} already exists.",
        key=candidate.key,
    )
    if candidate.start_date and candidate.end_date and candidate.end_date < candidate.start_date:
        raise ValidationError({"end_date": "must be on or after the start date"})
    eligibility = candidate.eligibility or {}
    if eligibility:
        try:
            eligibility = rules.validate(eligibility, selectors.rule_field_specs(tenant=tenant), "eligibility")
        except rules.RuleError as exc:
            raise ValidationError({exc.path: exc.message}) from None
    return {"eligibility": eligibility, "tags": _tags(candidate.tags)}


@transaction.atomic
def offer_create(*, tenant: Tenant, actor: Actor, data: Data) -> Offer:
    """Create an offer; eligibility is checked against the tenant's customer schema."""
    candidate = _candidate(Offer, tenant=tenant, instance=None, data=data)
    values = {**data, **_offer_check(candidate, tenant=tenant, instance=None)}
    offer: Offer = instance_create(tenant=tenant, actor=actor, model=Offer, data=values)
    catalogue_version_bump(tenant=tenant)
    return offer


@transaction.atomic
def offer_update(*, tenant: Tenant, actor: Actor, instance: Offer, data: Data) -> Offer:
    candidate = _candidate(Offer, tenant=tenant, instance=instance, data=data)
    values = {**data, **_offer_check(candidate, tenant=tenant, instance=instance)}
    offer: Offer = instance_update(tenant=tenant, actor=actor, instance=instance, data=values)
    catalogue_version_bump(tenant=tenant)
    return offer


def _ensure_not_in_pipelines(
    *, tenant: Tenant, what: str, offer_id: str | None = None, policy_id: str | None = None
) -> None:
    flows = selectors.flows_referencing(tenant=tenant, offer_id=offer_id, policy_id=policy_id)
    if flows:
        keys = ", ".join(sorted(flow.key for flow in flows))
        raise Conflict(f"This {what} is used in the pipeline of decision flow(s) {keys}; remove it there first.")


@transaction.atomic
def offer_delete(*, tenant: Tenant, actor: Actor, instance: Offer) -> None:
    """Delete an offer and its creatives; refused (409) while a flow's pipeline, a contact
    policy or the contact history refers to it."""
    _ensure_not_in_pipelines(tenant=tenant, what="offer", offer_id=instance.pk)
    _ensure_never_contacted(tenant=tenant, what="offer", offer_id=instance.pk)
    instance_delete(tenant=tenant, actor=actor, instance=instance)
    catalogue_version_bump(tenant=tenant)


# --- creatives -----------------------------------------------------------------------------


def _creative_check(candidate: Creative, *, tenant: Tenant, instance: Creative | None) -> None:
    _ensure_tenant(candidate.offer, tenant=tenant, field="offer_id")
    _ensure_tenant(candidate.channel, tenant=tenant, field="channel_id")
    known = selectors.rule_field_specs(tenant=tenant)
    for field in ("subject", "content"):
        try:
            validate_tokens(getattr(candidate, field), known)
        except TokenError as exc:
            raise ValidationError({field: exc.message}) from None
    duplicates = Creative.objects.filter(offer=candidate.offer, channel=candidate.channel, name=candidate.name)
    if instance is not None:
        duplicates = duplicates.exclude(pk=instance.pk)
    if duplicates.exists():
        raise ValidationError({"name": f"The offer already has a creative named {candidate.name!r} on this channel."})


@transaction.atomic
def creative_create(*, tenant: Tenant, actor: Actor, data: Data) -> Creative:
    """Create a creative of one offer on one channel; its tokens must name known fields."""
    candidate = _candidate(Creative, tenant=tenant, instance=None, data=data)
    _creative_check(candidate, tenant=tenant, instance=None)
    creative: Creative = instance_create(tenant=tenant, actor=actor, model=Creative, data=data)
    catalogue_version_bump(tenant=tenant)
    return creative


@transaction.atomic
def creative_update(*, tenant: Tenant, actor: Actor, instance: Creative, data: Data) -> Creative:
    candidate = _candidate(Creative, tenant=tenant, instance=instance, data=data)
    _creative_check(candidate, tenant=tenant, instance=instance)
    creative: Creative = instance_update(tenant=tenant, actor=actor, instance=instance, data=data)
    catalogue_version_bump(tenant=tenant)
    return creative


@transaction.atomic
def creative_delete(*, tenant: Tenant, actor: Actor, instance: Creative) -> None:
    instance_delete(tenant=tenant, actor=actor, instance=instance)
    catalogue_version_bump(tenant=tenant)


# --- contact policies ----------------------------------------------------------------------

# What each policy type uses; the fields of the other types are reset when the type changes.
_POLICY_FIELDS: dict[str, tuple[str, ...]] = {
    PolicyType.FREQUENCY_CAP: ("max_count", "period", "scope", "channel", "offer"),
    PolicyType.COOLDOWN: ("cooldown_hours",),
    PolicyType.SUPPRESSION: ("suppress_unsubscribed", "suppress_suppressed"),
}
_POLICY_BLANK: dict[str, Any] = {
    "max_count": None,
    "period": "",
    "scope": "",
    "channel": None,
    "offer": None,
    "cooldown_hours": None,
    "suppress_unsubscribed": False,
    "suppress_suppressed": False,
}
# API names of the fields, for error keys
_POLICY_API_NAMES = {"channel": "channel_id", "offer": "offer_id"}


# A cooldown reaches back this far in the contact history at most (ten years); the engine subtracts
# it from now, which fails beyond year 1.
MAX_COOLDOWN_HOURS = 10 * 365 * 24


def _policy_check(
    candidate: ContactPolicy, *, tenant: Tenant, instance: ContactPolicy | None, given: set[str]
) -> dict[str, Any]:
    """Check the fields of the policy's type; fields of other types must not be sent and are
    reset when left over from a previous type."""
    _ensure_unique(
        ContactPolicy,
        tenant=tenant,
        instance=instance,
        field="name",
        message=f"A contact policy named {candidate.name!r} already exists.",
        name=candidate.name,
    )
    policy_type = candidate.policy_type
    own = _POLICY_FIELDS[policy_type]
    values: dict[str, Any] = {}
    for field, blank in _POLICY_BLANK.items():
        if field in own:
            continue
        if field in given and getattr(candidate, field) != blank:
            raise ValidationError({_POLICY_API_NAMES.get(field, field): f"does not apply to {policy_type} policies"})
        values[field] = blank
    if policy_type == PolicyType.FREQUENCY_CAP:
        if candidate.max_count is None:
            raise ValidationError({"max_count": "required for frequency caps: the most contacts per period"})
        if not in_range(candidate.max_count, 1, INT32_MAX):
            raise ValidationError({"max_count": range_message(1, INT32_MAX, got=candidate.max_count)})
        if not candidate.period:
            raise ValidationError({"period": "required for frequency caps: day, week or month"})
        scope = candidate.scope or CapScope.GLOBAL
        values["scope"] = scope
        _ensure_tenant(candidate.channel, tenant=tenant, field="channel_id")
        _ensure_tenant(candidate.offer, tenant=tenant, field="offer_id")
        for target, field in ((CapScope.CHANNEL, "channel"), (CapScope.OFFER, "offer")):
            if scope == target and getattr(candidate, field) is None:
                raise ValidationError({f"{field}_id": f"required when scope is {target}"})
            if scope != target and getattr(candidate, field) is not None:
                if field in given:
                    raise ValidationError({f"{field}_id": f"only frequency caps scoped to a {field} name one"})
                values[field] = None
    elif policy_type == PolicyType.COOLDOWN:
        if candidate.cooldown_hours is None:
            raise ValidationError(
                {"cooldown_hours": "required for cooldowns: hours before the same offer may go again"}
            )
        if not in_range(candidate.cooldown_hours, 1, MAX_COOLDOWN_HOURS):
            raise ValidationError(
                {"cooldown_hours": range_message(1, MAX_COOLDOWN_HOURS, got=candidate.cooldown_hours)}
            )
    elif not (candidate.suppress_unsubscribed or candidate.suppress_suppressed):
        message = "a suppression policy drops unsubscribed and/or suppressed customers: set at least one"
        raise ValidationError({"suppress_unsubscribed": message})
    return values


@transaction.atomic
def contact_policy_create(*, tenant: Tenant, actor: Actor, data: Data) -> ContactPolicy:
    """Create a frequency cap, cooldown or suppression policy with the fields of its type."""
    candidate = _candidate(ContactPolicy, tenant=tenant, instance=None, data=data)
    values = {**data, **_policy_check(candidate, tenant=tenant, instance=None, given=set(data))}
    policy: ContactPolicy = instance_create(tenant=tenant, actor=actor, model=ContactPolicy, data=values)
    catalogue_version_bump(tenant=tenant)
    return policy


@transaction.atomic
def contact_policy_update(*, tenant: Tenant, actor: Actor, instance: ContactPolicy, data: Data) -> ContactPolicy:
    candidate = _candidate(ContactPolicy, tenant=tenant, instance=instance, data=data)
    values = {**data, **_policy_check(candidate, tenant=tenant, instance=instance, given=set(data))}
    policy: ContactPolicy = instance_update(tenant=tenant, actor=actor, instance=instance, data=values)
    catalogue_version_bump(tenant=tenant)
    return policy


@transaction.atomic
def contact_policy_delete(*, tenant: Tenant, actor: Actor, instance: ContactPolicy) -> None:
    """Delete a policy; refused (409) while a flow's contact_policy node names it."""
    _ensure_not_in_pipelines(tenant=tenant, what="contact policy", policy_id=instance.pk)
    instance_delete(tenant=tenant, actor=actor, instance=instance)
    catalogue_version_bump(tenant=tenant)


# --- decision flows ------------------------------------------------------------------------


def _pipeline(value: Any, *, tenant: Tenant) -> list[dict[str, Any]]:
    if value is None or value == []:
        return []  # a sketch: saved, but nothing to publish yet
    try:
        return validate_pipeline(value, selectors.pipeline_catalogue(tenant=tenant))
    except PipelineError as exc:
        errors: dict[str, list[str]] = {}
        for path, message in exc.problems:
            errors.setdefault(path, []).append(message)
        raise ValidationError(errors) from None


def _flow_check(
    candidate: DecisionFlow, *, tenant: Tenant, instance: DecisionFlow | None, given: set[str]
) -> dict[str, Any]:
    _ensure_unique(
        DecisionFlow,
        tenant=tenant,
        instance=instance,
        field="key",
        message=f"A decision flow with key {candidate.key!r} already exists.",
        key=candidate.key,
    )
    # A PATCH that leaves the pipeline alone does not re-check it: renaming a flow must not
    # fail because an offer it names was deleted since (publish checks again).
    if instance is not None and "pipeline" not in given:
        return {}
    return {"pipeline": _pipeline(candidate.pipeline, tenant=tenant)}


@transaction.atomic
def decision_flow_create(*, tenant: Tenant, actor: Actor, data: Data) -> DecisionFlow:
    """Create a flow; its pipeline is validated and stored normalised (defaults filled)."""
    candidate = _candidate(DecisionFlow, tenant=tenant, instance=None, data=data)
    values = {**data, **_flow_check(candidate, tenant=tenant, instance=None, given=set(data))}
    flow: DecisionFlow = instance_create(tenant=tenant, actor=actor, model=DecisionFlow, data=values)
    catalogue_version_bump(tenant=tenant)
    return flow


@transaction.atomic
def decision_flow_update(*, tenant: Tenant, actor: Actor, instance: DecisionFlow, data: Data) -> DecisionFlow:
    """Edit a flow. Published versions are untouched: runs see the change once it is published."""
    candidate = _candidate(DecisionFlow, tenant=tenant, instance=instance, data=data)
    values = {**data, **_flow_check(candidate, tenant=tenant, instance=instance, given=set(data))}
    flow: DecisionFlow = instance_update(tenant=tenant, actor=actor, instance=instance, data=values)
    catalogue_version_bump(tenant=tenant)
    return flow


@transaction.atomic
def decision_flow_delete(*, tenant: Tenant, actor: Actor, instance: DecisionFlow) -> None:
    """Delete a flow and its versions."""
    instance_delete(tenant=tenant, actor=actor, instance=instance)
    catalogue_version_bump(tenant=tenant)


@transaction.atomic
def decision_flow_publish(*, tenant: Tenant, actor: Actor, flow: DecisionFlow) -> DecisionFlowVersion:
    """Validate the flow's pipeline against today's catalogue and freeze it as the next version
    (1, 2, 3…). The flow row is locked so two publishes never take the same number."""
    locked = locks.decision_flow_for_update().get(pk=flow.pk, tenant=tenant)
    if locked.status == FlowStatus.ARCHIVED:
        raise Conflict("An archived decision flow cannot be published.")
    if not locked.pipeline:
        raise ValidationError(
            {"pipeline": "nothing to publish: the pipeline needs inventory, score, rank and output nodes"}
        )
    pipeline = _pipeline(locked.pipeline, tenant=tenant)
    number = (locked.latest_version or 0) + 1
    version = DecisionFlowVersion.objects.create(
        tenant=tenant,
        flow=locked,
        version=number,
        pipeline=copy.deepcopy(pipeline),
        published_by=actor.actor_label if actor is not None else "system",
    )
    DecisionFlow.objects.filter(pk=locked.pk).update(latest_version=number, updated_at=timezone.now())
    flow.latest_version = number
    audit_record(
        tenant=tenant,
        actor=actor,
        action="publish",
        instance=locked,
        before={"latest_version": locked.latest_version},
        after={"latest_version": number, "version_id": version.pk},
    )
    catalogue_version_bump(tenant=tenant)
    return version
