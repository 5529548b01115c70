"""The pilot apps of examples/, served by a Torget that is not a production site."""

from __future__ import annotations

import pytest

from catalog import credentials
from catalog.models import Environment
from tests.factories.catalog import ApplicationFactory


def test_the_pages_scripts_and_the_fhirclient_build_are_served(client) -> None:
    page = client.get("/examples/tjenesteoversikt/launch.html")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert '<script src="../vendor/fhir-client.js"></script>' in page.get_data(as_text=True)
    module = client.get("/examples/tjenesteoversikt/services.mjs")
    assert (module.status_code, module.mimetype) == (200, "text/javascript")
    vendor = client.get("/examples/vendor/fhir-client.js")
    assert (vendor.status_code, vendor.mimetype) == (200, "text/javascript")
    assert b"oauth2" in vendor.get_data()


@pytest.mark.parametrize(
    "path",
    [
        "/examples/tjenesteoversikt/services.test.mjs",  # tests are not the app
        "/examples/tjenesteoversikt/..%2F..%2Fpyproject.toml",
        "/examples/elsewhere/app.js",
        "/examples/tjenesteoversikt/notes.txt",
    ],
)
def test_nothing_else_is_served(client, path) -> None:
    assert client.get(path).status_code == 404


def test_the_config_carries_the_client_id_of_the_apps_production_client(client) -> None:
    assert client.get("/examples/tjenesteoversikt/config.json").status_code == 404  # not yet
    application = ApplicationFactory(slug="tjenesteoversikt")
    production = credentials.ensure_client(application, Environment.PRODUCTION)
    config = client.get("/examples/tjenesteoversikt/config.json")
    assert config.status_code == 200
    body = config.get_json()
    assert body["clientId"] == production.client_id
    assert "patient/EpisodeOfCare.rs" in body["scope"]
    assert config.headers["Cache-Control"] == "no-store"
