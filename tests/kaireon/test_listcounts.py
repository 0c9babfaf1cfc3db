"""The list counters (kaireon/listcounts.py): PostgreSQL triggers keep a table's count per tenant in
the writers' transactions. Customers are the counted table here (no status, no scope); the runs,
journey-run and campaign-run lists test their statuses and scopes beside their APIs."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from kaireon.listcounts import Mismatch, counted_models, counted_total, list_counts_check
from kaireon.models import ListCount, Tenant
from segments.models import Customer
from tests.factories import TenantFactory

postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the counters are PostgreSQL triggers")


def listed(tenant: Tenant) -> int | None:
    return counted_total(Customer.objects.filter(tenant=tenant))


def exact(tenant: Tenant) -> int:
    return Customer.objects.filter(tenant=tenant).count()


def add(tenant: Tenant, count: int, prefix: str = "c") -> None:
    """``count`` customers, one INSERT each (one delta row each)."""
    for i in range(count):
        Customer.objects.create(tenant=tenant, external_id=f"{prefix}{i}")


def delta_rows(tenant: Tenant) -> int:
    return ListCount.objects.filter(tenant=tenant, table_name="segments_customer").count()


@pytest.mark.django_db
def test_sqlite_lists_count_rows_themselves(tenant):
    if connection.vendor == "postgresql":
        assert listed(tenant) == 0
    else:
        assert listed(tenant) is None  # the paginator falls back to COUNT


@postgresql
@pytest.mark.django_db
def test_counts_follow_creates_bulk_inserts_copy_and_deletes(tenant, other_tenant):
    add(tenant, 3)
    Customer.objects.bulk_create([Customer(tenant=tenant, external_id=f"b{i}") for i in range(250)], batch_size=100)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY segments_customer (tenant_id, external_id, email, first_name, last_name, phone, attributes, "
            "suppressed, unsubscribed, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        for i in range(40):
            copy.write_row((tenant.pk, f"copied{i}", "", "", "", "", "{}", False, False, "2026-01-01Z", "2026-01-01Z"))
    add(other_tenant, 2)
    assert (listed(tenant), listed(other_tenant)) == (293, 2)
    Customer.objects.filter(tenant=tenant, external_id__startswith="b").delete()
    Customer.objects.get(tenant=tenant, external_id="c0").delete()
    assert (listed(tenant), listed(other_tenant)) == (exact(tenant), 2) == (42, 2)
    assert list_counts_check() == []


@postgresql
@pytest.mark.django_db
def test_updates_of_customers_leave_the_count_alone(tenant):
    add(tenant, 5)
    Customer.objects.filter(tenant=tenant).update(email="x@example.com", suppressed=True)
    assert listed(tenant) == 5
    assert delta_rows(tenant) <= 5  # no UPDATE trigger writes deltas for a table without status


@postgresql
@pytest.mark.django_db
def test_rolled_back_writes_are_not_counted(tenant):
    add(tenant, 2)
    with transaction.atomic():
        add(tenant, 3, prefix="gone")
        Customer.objects.filter(tenant=tenant, external_id="c0").delete()
        transaction.set_rollback(True)
    assert listed(tenant) == exact(tenant) == 2


@postgresql
@pytest.mark.django_db
def test_an_upsert_counts_the_rows_it_inserts_not_those_it_updates(tenant):
    add(tenant, 2)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO segments_customer (tenant_id, external_id, email, first_name, last_name, phone, attributes, "
            "suppressed, unsubscribed, created_at, updated_at) "
            "SELECT %s, e, '', '', '', '', '{}', false, false, now(), now() FROM unnest(%s::text[]) AS e "
            "ON CONFLICT (tenant_id, external_id) DO UPDATE SET email = 'again@example.com'",
            [tenant.pk, ["c0", "c1", "new1", "new2", "new3"]],
        )
    assert listed(tenant) == exact(tenant) == 5


@postgresql
@pytest.mark.django_db
def test_a_customer_cannot_move_to_another_tenant(tenant, other_tenant):
    add(tenant, 1)
    with pytest.raises(DatabaseError, match="cannot move to another tenant"), transaction.atomic():
        Customer.objects.filter(tenant=tenant).update(tenant=other_tenant)
    Customer.objects.filter(tenant=tenant).update(tenant=tenant)  # the same tenant again is fine
    assert (listed(tenant), listed(other_tenant)) == (1, 0)


@postgresql
@pytest.mark.django_db
def test_deltas_fold_so_a_total_adds_up_a_few_rows(tenant):
    add(tenant, 64)
    assert listed(tenant) == 64
    # one delta row per INSERT, folded into one whenever a delta's id is a multiple of 16
    assert delta_rows(tenant) <= 17


@postgresql
@pytest.mark.django_db
def test_truncate_empties_the_counts(tenant):
    add(tenant, 3)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks: TRUNCATE refuses them
        cursor.execute("TRUNCATE segments_customer CASCADE")
    assert listed(tenant) == 0
    assert delta_rows(tenant) == 0


@postgresql
@pytest.mark.django_db
def test_rebuild_counts_the_rows_again(tenant):
    add(tenant, 4)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off, as a restore may do
        Customer.objects.create(tenant=tenant, external_id="unseen")
        cursor.execute("SET LOCAL session_replication_role = origin")
    assert listed(tenant) == 4
    assert list_counts_check() == [Mismatch("segments_customer", tenant.pk, "", "", 4, 5)]
    with pytest.raises(CommandError, match="1 counters disagree"):
        call_command("rebuild_list_counts", "--check", stdout=io.StringIO())
    call_command("rebuild_list_counts", stdout=io.StringIO())
    assert listed(tenant) == exact(tenant) == 5
    assert delta_rows(tenant) == 1
    assert list_counts_check() == []


@postgresql
@pytest.mark.django_db
def test_each_counted_table_has_the_triggers_of_its_model():
    """The migrations' CountRows and the models' CountedList name the same columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, encode(t.tgargs, 'escape') FROM pg_trigger t JOIN pg_class c "
            "ON c.oid = t.tgrelid WHERE t.tgname LIKE 'kaireon_count_%' AND t.tgname <> 'kaireon_count_truncate' "
            "AND t.tgname <> 'kaireon_count_tenant'"
        )
        installed: dict[str, set[tuple[str, ...]]] = {}
        for table, _, arguments in cursor.fetchall():
            installed.setdefault(table, set()).add(tuple(arguments.split("\\000")[:-1]))
    expected = {
        model._meta.db_table: {(model.list_counts.status, *model.list_counts.scopes)}  # type: ignore[attr-defined]
        for model in counted_models()
    }
    assert installed == expected
    assert set(expected) == {"runs_run", "segments_customer", "journeys_executionrun", "campaigns_campaignrun"}


@postgresql
@pytest.mark.django_db
def test_filters_the_counters_cannot_answer_are_left_to_count(tenant, other_tenant):
    mine = Customer.objects.filter(tenant=tenant)
    assert counted_total(mine) == 0
    assert counted_total(mine.filter(email="a@example.com")) is None
    assert counted_total(mine.exclude(external_id="x")) is None
    assert counted_total(Customer.objects.filter(tenant__in=[tenant, other_tenant])) is None
    assert counted_total(Customer.objects.all()) is None
    assert counted_total(mine.distinct()) is None
    assert counted_total(mine[:10]) is None


# --- two transactions at once --------------------------------------------------------------------


@pytest.fixture
def committed_tenants(transactional_db: None) -> tuple[Tenant, Tenant]:
    return TenantFactory.create(slug="acme"), TenantFactory.create(slug="globex")


@postgresql
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_two_transactions_writing_at_once_never_wait_and_both_count(committed_tenants, outcome):
    """A transaction holding uncommitted deltas (and maybe the fold lock) never blocks another
    writer of the same tenant, and the totals come out exact either way."""
    tenant, _ = committed_tenants
    add(tenant, 5, prefix="base")
    holding, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def other_writer() -> None:
        try:
            with transaction.atomic():
                add(tenant, 20, prefix="other")  # 20 statements: some of them fold
                holding.set()
                assert release.wait(10)
                if outcome == "rollback":
                    transaction.set_rollback(True)
        except BaseException as error:  # noqa: BLE001  (handed to the test's thread)
            failure.append(error)
            holding.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        assert holding.wait(10)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")  # waiting on the other would fail this
            add(tenant, 20, prefix="mine")
        assert listed(tenant) == exact(tenant) == 25
    finally:
        release.set()
        thread.join(10)
    assert not failure
    assert listed(tenant) == exact(tenant) == (45 if outcome == "commit" else 25)
    assert delta_rows(tenant) < 45
    assert list_counts_check() == []


@postgresql
def test_repeatable_read_writers_are_counted_without_folding(committed_tenants):
    """An older snapshot could delete deltas another folder already deleted: such a writer only appends."""
    tenant, _ = committed_tenants
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        add(tenant, 40)
    assert listed(tenant) == exact(tenant) == 40
    assert delta_rows(tenant) == 40
