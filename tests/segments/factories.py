"""Factories of the segments app. ``SegmentFactory`` makes a bare row without a view: use
``segments.services.segment_create`` when a test needs the view."""

from __future__ import annotations

import factory

from segments.models import AttributeType, Customer, CustomerAttribute, CustomerImport, ImportFormat, Segment
from tests.factories import TenantFactory


class CustomerAttributeFactory(factory.django.DjangoModelFactory[CustomerAttribute]):
    class Meta:
        model = CustomerAttribute

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"attr_{n}")
    type = AttributeType.STRING
    label = factory.LazyAttribute(lambda a: a.name.replace("_", " ").title())


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    external_id = factory.Sequence(lambda n: f"C{n:06d}")
    email = factory.LazyAttribute(lambda c: f"{c.external_id.lower()}@example.com")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Lovelace{n}")
    attributes = factory.LazyFunction(dict)


class SegmentFactory(factory.django.DjangoModelFactory[Segment]):
    class Meta:
        model = Segment

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    filters = factory.LazyFunction(dict)


class CustomerImportFactory(factory.django.DjangoModelFactory[CustomerImport]):
    class Meta:
        model = CustomerImport

    tenant = factory.SubFactory(TenantFactory)
    format = ImportFormat.CSV
    file_path = "imports/none.csv"
    file_name = "none.csv"
