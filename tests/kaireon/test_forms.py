"""kaireon.forms.ServiceErrorsMixin: a service's error beside the form field it is about."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError

from kaireon.errors import Conflict, FieldError, NotFound, ValidationError, not_found
from kaireon.forms import ServiceErrorsMixin


class FlowForm(ServiceErrorsMixin, forms.Form):
    SERVICE_FIELDS = {"decision_flow_id": "decision_flow", "channel_ids": "channels", "gone_id": "gone"}

    decision_flow = forms.CharField(required=False)
    channels = forms.CharField(required=False)
    filters = forms.CharField(required=False)
    filters_extra = forms.CharField(required=False)
    provider_config = forms.CharField(required=False)


class PlainForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(required=False)


class ToStepsForm(ServiceErrorsMixin, forms.Form):
    NON_FIELD = "steps"

    steps = forms.CharField(required=False)


class RewordingForm(ServiceErrorsMixin, forms.Form):
    schedule = forms.CharField(required=False)

    @classmethod
    def error_message(cls, message: str) -> str:
        return message.replace("scheduleType", "the schedule")

    @classmethod
    def error_location(cls, field: str, rest: str) -> str:
        return f"<{field}|{rest}>"


def _errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(error) for error in errors] for field, errors in form.errors.items()}


def _added(form_class: type[ServiceErrorsMixin], exc: Exception) -> dict[str, list[str]]:
    form: Any = form_class(data={})
    form.is_valid()
    form.add_service_error(exc)
    return _errors(form)


# --- each kind of exception -----------------------------------------------------------------


def test_validation_error_by_field():
    exc = ValidationError({"decision_flow_id": ["Is not runnable."], "filters": "Give a filter."})
    assert _added(FlowForm, exc) == {"decision_flow": ["Is not runnable."], "filters": ["Give a filter."]}


def test_validation_error_paths_say_where():
    exc = ValidationError([FieldError("channels[0]", "Not active."), FieldError("channels[2]", "Unknown.")])
    assert _added(FlowForm, exc) == {"channels": ["[0]: Not active.", "[2]: Unknown."]}


def test_validation_error_without_fields_is_a_non_field_error():
    exc = ValidationError(["First problem.", "Second problem."])
    assert _added(FlowForm, exc) == {"__all__": ["First problem.", "Second problem."]}


def test_django_error_dict_by_key():
    exc = DjangoValidationError({"provider_config": ["must be an object"], "__all__": ["Something else."]})
    assert _added(FlowForm, exc) == {"provider_config": ["must be an object"], "__all__": ["Something else."]}


def test_django_messages_without_keys_are_non_field_errors():
    exc = DjangoValidationError(["One.", "Two."])
    assert _added(FlowForm, exc) == {"__all__": ["One.", "Two."]}


def test_other_domain_errors_are_non_field_errors():
    assert _added(FlowForm, Conflict("The run is already running.")) == {"__all__": ["The run is already running."]}


def test_what_is_no_service_error_is_raised_again():
    form = FlowForm(data={})
    with pytest.raises(KeyError):
        form.add_service_error(KeyError("boom"))


# --- aliases ------------------------------------------------------------------------------


def test_alias_names_the_field():
    exc = ValidationError({"channel_ids": "No batch-compatible channels."})
    assert _added(FlowForm, exc) == {"channels": ["No batch-compatible channels."]}


def test_alias_of_none_places_errors_about_the_whole_input():
    class WholeToChannels(FlowForm):
        SERVICE_FIELDS = {None: "channels"}

    exc = ValidationError("No batch-compatible channels.")
    assert _added(WholeToChannels, exc) == {"channels": ["No batch-compatible channels."]}
    assert _added(FlowForm, exc) == {"__all__": ["No batch-compatible channels."]}


def test_alias_to_a_field_the_form_lacks_is_a_non_field_error():
    exc = DjangoValidationError({"gone_id": ["Was deleted."]})
    assert _added(FlowForm, exc) == {"__all__": ["Was deleted."]}


# --- nested keys --------------------------------------------------------------------------


def test_nested_key_goes_to_the_field_prefixed_by_where():
    exc = DjangoValidationError(
        {"filters.all[0].value": ["required for eq"], "provider_config.webhook_url": ["must be an http(s) URL"]}
    )
    assert _added(FlowForm, exc) == {
        "filters": ["all[0].value: required for eq"],
        "provider_config": ["webhookUrl: must be an http(s) URL"],
    }


def test_nested_key_with_an_index_and_domain_error():
    exc = ValidationError({"filters[2]": "a condition is an object"})
    assert _added(FlowForm, exc) == {"filters": ["[2]: a condition is an object"]}


def test_nested_key_takes_the_longest_field_name():
    exc = DjangoValidationError({"filters_extra.a": ["bad"], "filters.b": ["worse"]})
    assert _added(FlowForm, exc) == {"filters_extra": ["a: bad"], "filters": ["b: worse"]}


def test_a_name_that_only_starts_like_a_field_is_not_nested():
    exc = DjangoValidationError({"filtersx": ["odd"]})
    assert _added(FlowForm, exc) == {"__all__": ["odd"]}


def test_hooks_reword_messages_and_locations():
    exc = DjangoValidationError({"schedule.cron": ["scheduleType cron needs a cron expression"]})
    assert _added(RewordingForm, exc) == {"schedule": ["<schedule|.cron>: the schedule cron needs a cron expression"]}


# --- not found ------------------------------------------------------------------------------


def test_not_found_goes_to_the_field_that_referenced_it():
    assert _added(FlowForm, not_found("Decision flow", "x", field="decision_flow_id")) == {
        "decision_flow": ["Decision flow 'x' not found."]
    }
    assert _added(FlowForm, NotFound("No such filter.", field="filters")) == {"filters": ["No such filter."]}


def test_not_found_of_a_field_the_form_lacks_or_unnamed_is_a_non_field_error():
    # "segment_id" names a field FlowForm does not have; the offer's no field at all
    for exc in (not_found("Segment", "s", field="segment_id"), not_found("Offer", "o")):
        assert _added(FlowForm, exc) == {"__all__": [exc.message]}


# --- unmatched ------------------------------------------------------------------------------


def test_unmatched_keys_are_non_field_errors_without_their_key():
    exc = ValidationError({"batch_size": "Must be from 1 to 1000.", "name": "Too long."})
    assert _added(FlowForm, exc) == {"__all__": ["Must be from 1 to 1000.", "Too long."]}
    assert _added(PlainForm, exc) == {"__all__": ["Must be from 1 to 1000."], "name": ["Too long."]}


def test_non_field_can_name_a_field():
    exc = DjangoValidationError({"__all__": ["a cycle without a wait"], "unknown": ["huh"]})
    assert _added(ToStepsForm, exc) == {"steps": ["a cycle without a wait", "huh"]}
    assert _added(ToStepsForm, Conflict("Busy.")) == {"steps": ["Busy."]}


# --- without a form: flash messages ---------------------------------------------------------


def test_service_errors_groups_by_field_without_adding_them():
    form = FlowForm(data={})
    exc = ValidationError({"decision_flow_id": "a", "filters.all": "b", "other": "c"})
    assert form.service_errors(exc) == {"decision_flow": ["a"], "filters": ["all: b"], None: ["c"]}
    assert not form.errors


def test_error_messages_and_text_read_the_declared_fields():
    exc = DjangoValidationError({"filters.all[0].field": ["unknown field 'x'"], "decision_flow_id": ["required"]})
    assert FlowForm.error_messages(exc) == ["all[0].field: unknown field 'x'", "required"]
    assert FlowForm.error_text(exc) == "all[0].field: unknown field 'x' required"
    assert PlainForm.error_text(not_found("Segment", "s", field="segment_id")) == "Segment 's' not found."
