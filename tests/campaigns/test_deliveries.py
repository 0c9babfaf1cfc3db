"""Deliveries against a real local HTTP server: retries with backoff, per-recipient failures,
completed_with_errors with counts, the retry of failed ones only; the manual work queue."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rest_framework.test import APIClient

from campaigns import deliveries, services, tasks
from campaigns.models import CampaignRun, CampaignRunStatus, Delivery, DeliveryStatus
from config.celery import app as celery_app
from decisionflows.models import Channel
from runs import services as run_services
from tests.campaigns.helpers import ok


class Hook:
    """The webhook: fails the first ``fail_first`` requests (or all, ``always_fail``) with 500."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = 0
        self.always_fail = False
        self.redirect_to = ""
        self.lock = threading.Lock()

    def answer(self, body: dict[str, Any]) -> int:
        with self.lock:
            self.requests.append(body)
            failing = self.always_fail or len(self.requests) <= self.fail_first
        return 500 if failing else 200

    def delivered(self) -> list[tuple[str, str]]:
        """(customer, offer) of every recipient in a request answered 2xx."""
        return [(r["customerId"], r["offerKey"]) for body in self.requests if body["_ok"] for r in body["recipients"]]


@contextlib.contextmanager
def _serve(state: Hook) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body["_key"] = self.headers["Idempotency-Key"]
            code = state.answer(body)
            body["_ok"] = code == 200
            if state.redirect_to:
                self.send_response(307)
                self.send_header("Location", state.redirect_to)
            else:
                self.send_response(code)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hook() -> Iterator[tuple[Hook, str]]:
    state = Hook()
    with _serve(state) as url:
        yield state, url


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def _finished(make_campaign: Any, system_actor: Any, catalogue: Any, url: str, **data: Any) -> CampaignRun:
    Channel.objects.filter(pk=catalogue.sms.pk).update(provider_config={"webhookUrl": url})
    campaign = make_campaign(**data)
    campaign_run = services.campaign_trigger(tenant=campaign.tenant, actor=system_actor, campaign=campaign)
    run_services.run_execute_inline(run_id=campaign_run.run_id or "")
    return campaign_run


def _send_all(campaign_run: CampaignRun) -> list[deliveries.Batch]:
    batches = deliveries.deliveries_start(campaign_run_id=campaign_run.pk)
    for batch in batches:
        tasks.deliver_batch.apply(args=batch)
    return batches


def _status(campaign_run: CampaignRun) -> str:
    from campaigns import selectors

    return str(getattr(selectors.campaign_runs().get(pk=campaign_run.pk), "current_status"))  # noqa: B009  (an annotation)


def test_a_failing_endpoint_is_retried_until_it_answers(make_campaign, system_actor, catalogue, hook):
    state, url = hook
    campaign_run = _finished(make_campaign, system_actor, catalogue, url)
    state.fail_first = 2
    batches = _send_all(campaign_run)
    assert len(batches) == 1
    rows = Delivery.objects.filter(campaign_run=campaign_run, mode="integration")
    assert rows.count() > 0
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert set(rows.values_list("attempts", flat=True)) == {3}
    assert len(state.requests) == 3
    assert len({body["_key"] for body in state.requests}) == 1  # the same batch, retried
    assert len(state.requests[-1]["recipients"]) == rows.count()
    recipient = state.requests[-1]["recipients"][0]
    assert recipient["customerId"].startswith("c")
    assert recipient["channel"] == "SMS"
    assert recipient["personalization"]["content"].endswith("for you")
    campaign_run.refresh_from_db()
    assert (campaign_run.deliveries_total, campaign_run.deliveries_sent, campaign_run.deliveries_failed) == (
        rows.count(),
        rows.count(),
        0,
    )
    assert _status(campaign_run) == "completed"


def test_batches_are_bounded(make_campaign, system_actor, catalogue, hook, monkeypatch):
    state, url = hook
    monkeypatch.setattr(deliveries, "BATCH_SIZE", 4)
    campaign_run = _finished(make_campaign, system_actor, catalogue, url)
    batches = _send_all(campaign_run)
    total = Delivery.objects.filter(campaign_run=campaign_run, mode="integration").count()
    assert len(batches) == -(-total // 4)
    assert all(len(body["recipients"]) <= 4 for body in state.requests)
    assert len(state.delivered()) == total == len(set(state.delivered()))


def test_exhausted_retries_fail_each_recipient_then_retry_resends_only_those(
    make_campaign,
    system_actor,
    catalogue,
    hook,
    monkeypatch,
    eager,
    editor: APIClient,
    viewer,
    outsider,
    django_capture_on_commit_callbacks,
):
    state, url = hook
    monkeypatch.setattr(deliveries, "BATCH_SIZE", 5)
    campaign_run = _finished(make_campaign, system_actor, catalogue, url)
    batches = deliveries.deliveries_start(campaign_run_id=campaign_run.pk)
    # the first batch goes through; the endpoint then breaks for the rest
    tasks.deliver_batch.apply(args=batches[0])
    state.always_fail = True
    for batch in batches[1:]:
        tasks.deliver_batch.apply(args=batch)
    rows = Delivery.objects.filter(campaign_run=campaign_run, mode="integration")
    sent = set(rows.filter(status=DeliveryStatus.SENT).values_list("pk", flat=True))
    failed = rows.filter(status=DeliveryStatus.FAILED)
    assert len(sent) == 5
    assert failed.count() == rows.count() - 5 > 0
    attempts = (tasks.deliver_batch.max_retries or 0) + 1
    assert set(failed.values_list("attempts", flat=True)) == {attempts}
    assert all("HTTP 500" in error for error in failed.values_list("last_error", flat=True))
    assert len(state.requests) == 1 + attempts * (len(batches) - 1)

    base = f"/api/v1/campaigns/{campaign_run.campaign_id}/campaign-runs"
    listed = ok(viewer.get(base))["campaignRuns"][0]
    assert listed["status"] == CampaignRunStatus.COMPLETED_WITH_ERRORS
    assert listed["deliveries"]["failed"] == failed.count()
    assert listed["deliveries"]["sent"] == 5
    assert listed["deliveries"]["total"] == rows.count()
    assert listed["deliveries"]["settledAt"]

    assert viewer.post(f"{base}/{campaign_run.pk}/retry-deliveries").status_code == 403
    assert outsider.post(f"{base}/{campaign_run.pk}/retry-deliveries").status_code == 404
    state.always_fail = False
    before = len(state.requests)
    with django_capture_on_commit_callbacks(execute=True):
        body = ok(editor.post(f"{base}/{campaign_run.pk}/retry-deliveries"), 202)
    assert body["id"] == campaign_run.pk
    resent = [r for req in state.requests[before:] for r in req["recipients"]]
    assert len(resent) == rows.count() - 5  # only the failed ones
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert sorted(state.delivered()) == sorted(set(state.delivered()))  # nobody twice
    assert len(state.delivered()) == rows.count()
    listed = ok(viewer.get(base))["campaignRuns"][0]
    assert listed["status"] == "completed"
    assert listed["deliveries"]["failed"] == 0
    # nothing left to retry
    assert editor.post(f"{base}/{campaign_run.pk}/retry-deliveries").status_code == 409


def test_restarting_delivery_creates_and_sends_nothing_twice(make_campaign, system_actor, catalogue, hook):
    state, url = hook
    campaign_run = _finished(make_campaign, system_actor, catalogue, url)
    batches = _send_all(campaign_run)
    count = Delivery.objects.filter(campaign_run=campaign_run).count()
    # a redelivered start and redelivered batches
    assert deliveries.deliveries_start(campaign_run_id=campaign_run.pk) == []
    for batch in batches:
        assert tasks.deliver_batch.apply(args=batch).get() == "nothing"
    assert Delivery.objects.filter(campaign_run=campaign_run).count() == count
    assert len(state.delivered()) == len(set(state.delivered()))


def test_a_channel_without_webhook_fails_at_once(make_campaign, system_actor, catalogue):
    campaign_run = _finished(make_campaign, system_actor, catalogue, "")
    _send_all(campaign_run)
    failed = Delivery.objects.filter(campaign_run=campaign_run, mode="integration")
    assert set(failed.values_list("status", "attempts")) == {(DeliveryStatus.FAILED, 1)}
    assert _status(campaign_run) == CampaignRunStatus.COMPLETED_WITH_ERRORS


# --- no server-side request forgery (kaireon.webhooks) -------------------------------------


def _failures(campaign_run: CampaignRun) -> set[tuple[str, int, str]]:
    rows = Delivery.objects.filter(campaign_run=campaign_run, mode="integration")
    return set(rows.values_list("status", "attempts", "last_error"))


def test_by_default_a_loopback_webhook_is_refused_at_send_time(make_campaign, system_actor, catalogue, hook, settings):
    state, url = hook
    campaign_run = _finished(make_campaign, system_actor, catalogue, url)  # saved past the check (.update)
    settings.WEBHOOK_ALLOWED_HOSTS = []  # the production default
    _send_all(campaign_run)
    assert _failures(campaign_run) == {
        (DeliveryStatus.FAILED, 1, "webhookUrl refused: 127.0.0.1 is a loopback address")
    }
    assert state.requests == []
    assert _status(campaign_run) == CampaignRunStatus.COMPLETED_WITH_ERRORS


def _fake_dns(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """hooks.example.com resolves to ``answers`` in turn (the last one from then on); other
    names fail, so a test can never reach a real non-loopback host. Returns the names asked."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example.com":
            if not host.replace(".", "").isdigit():
                raise socket.gaierror(f"no DNS in tests: {host}")
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(
    make_campaign, system_actor, catalogue, settings, monkeypatch
):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    asked = _fake_dns(monkeypatch, "10.0.0.1")
    campaign_run = _finished(make_campaign, system_actor, catalogue, "http://hooks.example.com/in")
    _send_all(campaign_run)
    assert _failures(campaign_run) == {
        (DeliveryStatus.FAILED, 1, "webhookUrl refused: hooks.example.com resolves to a private address (10.0.0.1)")
    }
    assert asked == ["hooks.example.com"]  # looked up once, then refused: no connection attempt


def test_dns_rebinding_between_the_check_and_the_connection_is_refused(
    make_campaign, system_actor, catalogue, hook, settings, monkeypatch
):
    """The check sees a public address, the connection's own lookup a loopback one: the IP
    filter pins what it checked, so the request never leaves."""
    state, url = hook
    settings.WEBHOOK_ALLOWED_HOSTS = []
    port = url.split(":")[2].split("/")[0]
    asked = _fake_dns(monkeypatch, "93.184.216.34", "127.0.0.1")
    campaign_run = _finished(make_campaign, system_actor, catalogue, f"http://hooks.example.com:{port}/hook")
    _send_all(campaign_run)
    ((status, attempts, error),) = _failures(campaign_run)
    assert (status, attempts) == (DeliveryStatus.FAILED, 1)
    assert error.startswith("webhookUrl refused: hooks.example.com resolves to a forbidden address")
    assert len(asked) == 2
    assert state.requests == []


def test_webhook_redirects_are_not_followed(make_campaign, system_actor, catalogue, hook):
    state, url = hook
    target = Hook()
    with _serve(target) as target_url:
        state.redirect_to = target_url  # an allowed host here; elsewhere it could be 169.254.169.254
        campaign_run = _finished(make_campaign, system_actor, catalogue, url)
        _send_all(campaign_run)
    assert _failures(campaign_run) == {
        (DeliveryStatus.FAILED, 1, f"HTTP 307 from {url}: webhook redirects are not followed")
    }
    assert len(state.requests) == 1
    assert target.requests == []


def test_proxy_settings_from_the_environment_are_ignored(make_campaign, system_actor, catalogue, hook, monkeypatch):
    """A proxy would resolve the webhook's host after our check; a dead one here proves it is not used."""
    state, url = hook
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    campaign_run = _finished(make_campaign, system_actor, catalogue, url)
    _send_all(campaign_run)
    assert {status for status, _, _ in _failures(campaign_run)} == {DeliveryStatus.SENT}
    assert len(state.requests) == 1


# --- the work queue (manual channels) ------------------------------------------------------


def test_manual_recommendations_are_work_items_agents_mark_done(
    make_campaign, system_actor, catalogue, hook, editor: APIClient, viewer: APIClient, outsider: APIClient
):
    _, url = hook
    channels = [catalogue.call_centre.pk, catalogue.sms.pk]
    campaign_run = _finished(make_campaign, system_actor, catalogue, url, channel_ids=channels)
    _send_all(campaign_run)
    items = Delivery.objects.filter(campaign_run=campaign_run, mode="manual")
    assert items.count() > 0
    campaign_run.refresh_from_db()
    assert campaign_run.work_items == items.count()

    page = ok(viewer.get(f"/api/v1/campaigns/work-queue?channelId={catalogue.call_centre.pk}"))
    assert page["total"] == items.count()
    first = page["workItems"][0]
    assert first["status"] == "pending"
    assert first["channelName"] == "Call centre"
    assert first["customerId"].startswith("c")
    assert ok(viewer.get(f"/api/v1/campaigns/work-queue?channelId={catalogue.sms.pk}"))["total"] == 0
    assert ok(outsider.get("/api/v1/campaigns/work-queue"))["total"] == 0

    done_url = f"/api/v1/campaigns/work-queue/{first['id']}/done"
    assert viewer.post(done_url).status_code == 403
    assert outsider.post(done_url).status_code == 404
    done = ok(editor.post(done_url))
    assert done["status"] == "done"
    assert done["doneBy"]
    assert editor.post(done_url).status_code == 409
    assert ok(viewer.get("/api/v1/campaigns/work-queue?status=done"))["total"] == 1
    assert ok(viewer.get("/api/v1/campaigns/work-queue"))["total"] == items.count() - 1
    assert viewer.get("/api/v1/campaigns/work-queue?status=sent").status_code == 400
    # integration rows are not work items
    sms_item = Delivery.objects.filter(campaign_run=campaign_run, mode="integration").first()
    assert sms_item is not None
    assert editor.post(f"/api/v1/campaigns/work-queue/{sms_item.pk}/done").status_code == 404


def test_a_web_process_has_the_delivery_task_that_retries_enqueue_by_name() -> None:
    """``deliveries_dispatch`` looks ``campaigns.deliver_batch`` up by name; a web process
    (config.wsgi) imports no tasks module of its own, so the app config must register them."""
    code = "import config.wsgi; from celery import current_app; print('campaigns.deliver_batch' in current_app.tasks)"
    done = subprocess.run(  # noqa: S603  (this interpreter, our code)
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"
