"""The catalogue overview, the sub-navigation every catalogue page shares, and that every
catalogue page renders for every role (and is a 404 for another tenant)."""

from __future__ import annotations

import re

import pytest

from kaireon.models import Role
from tests.pages.catalogue_fixtures import rich_flow, text_of

pytestmark = pytest.mark.django_db

ROLES = [Role.VIEWER, Role.EDITOR, Role.ADMIN]


@pytest.mark.parametrize("role", ROLES)
def test_index_shows_counts_and_links_for_every_role(client_as, tenant, catalogue, role):
    response = client_as(tenant, role).get("/catalogue/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-count="offers">4<' in page
    assert 'data-count="channels">4<' in page
    assert 'data-count="policies">1<' in page
    assert 'data-count="flows">1<' in page
    text = text_of(page)
    assert "4 active · 7 creatives" in text
    assert "3 batch-compatible" in text  # email (file), SMS (integration), call centre (manual); web is api
    assert "1 ready to run" in text
    for path in ("/catalogue/offers/", "/catalogue/channels/", "/catalogue/policies/", "/catalogue/flows/"):
        assert f'href="{path}"' in page
    assert "Next Best Action" in page  # recent flows
    assert ('href="/catalogue/flows/new/"' in page) is (role != Role.VIEWER)


def test_main_navigation_shows_catalogue_as_current(as_viewer, catalogue):
    page = as_viewer.get("/catalogue/offers/").content.decode()
    assert re.search(r'<a href="/catalogue/" class="nav-link is-active" aria-current="page">Catalogue</a>', page)
    # and on other pages the link is there, not current
    dashboard = as_viewer.get("/").content.decode()
    assert '<a href="/catalogue/" class="nav-link">Catalogue</a>' in dashboard


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/catalogue/", "Overview"),
        ("/catalogue/offers/", "Offers"),
        ("/catalogue/channels/", "Channels"),
        ("/catalogue/policies/", "Contact policies"),
        ("/catalogue/flows/", "Decision flows"),
    ],
)
def test_subnavigation_marks_the_current_section(as_viewer, catalogue, path, current):
    page = as_viewer.get(path).content.decode()
    subnav = re.search(r'<nav class="df-subnav" aria-label="Catalogue">(.*?)</nav>', page, flags=re.S)
    assert subnav is not None
    assert re.findall(r'aria-current="page">([^<]+)</a>', subnav.group(1)) == [current]


def _all_pages(catalogue, flow) -> list[str]:
    offer = catalogue.offers["gold-card"]
    creative = offer.creatives.first()
    policy = flow.pipeline[2]["policy_ids"][0]
    return [
        "/catalogue/",
        "/catalogue/offers/",
        f"/catalogue/offers/{offer.pk}/",
        "/catalogue/channels/",
        "/catalogue/policies/",
        "/catalogue/flows/",
        f"/catalogue/flows/{flow.pk}/",
        f"/catalogue/flows/{flow.pk}/versions/1/",
        # editor pages
        "/catalogue/offers/new/",
        f"/catalogue/offers/{offer.pk}/edit/",
        f"/catalogue/offers/{offer.pk}/creatives/new/",
        f"/catalogue/offers/{offer.pk}/creatives/{creative.pk}/edit/",
        "/catalogue/channels/new/",
        f"/catalogue/channels/{catalogue.email.pk}/edit/",
        "/catalogue/policies/new/",
        f"/catalogue/policies/{policy}/edit/",
        "/catalogue/flows/new/",
        f"/catalogue/flows/{flow.pk}/edit/",
    ]


READ_PAGES = 8


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_for_its_roles_and_refuses_the_rest(client_as, tenant, catalogue, role):
    flow = rich_flow(catalogue)
    client = client_as(tenant, role)
    for index, path in enumerate(_all_pages(catalogue, flow)):
        response = client.get(path)
        expected = 200 if index < READ_PAGES or role != Role.VIEWER else 403
        assert response.status_code == expected, path
        if expected == 403:
            assert "This needs the editor role" in response.content.decode()


# the lists and blank forms exist for everyone (and show only their own tenant's rows)
TENANT_WIDE = {
    "/catalogue/",
    "/catalogue/offers/",
    "/catalogue/channels/",
    "/catalogue/policies/",
    "/catalogue/flows/",
    "/catalogue/offers/new/",
    "/catalogue/channels/new/",
    "/catalogue/policies/new/",
    "/catalogue/flows/new/",
}


def test_another_tenants_objects_are_404(as_outsider, catalogue):
    flow = rich_flow(catalogue)
    object_pages = [path for path in _all_pages(catalogue, flow) if path not in TENANT_WIDE]
    assert len(object_pages) == 9
    for path in object_pages:
        assert as_outsider.get(path).status_code == 404, path


def test_signed_out_visitors_are_sent_to_sign_in(client, catalogue):
    response = client.get("/catalogue/offers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/catalogue/offers/")
