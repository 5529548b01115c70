"""The platform data API: each municipality's FHIR API, its store, enforcement and audit."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from auth import patients
    from gateway import (  # noqa: F401
        api,
        audit_views,
        backends,
        enforcement,
        metadata,
        models,
        outcomes,
        platform_token,
    )
    from gateway.directory import StorePatientDirectory, UpstreamPatientDirectory
    from gateway.embedded import EmbeddedBackend
    from gateway.upstream import UpstreamBackend
    from marketplace.views import add_admin_link
    from torget.errors import register_renderer

    app.register_blueprint(metadata.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(audit_views.bp)
    enforcement.init_app(app)
    config = app.config["TORGET"]
    if config.fhir_upstream_url:
        upstream = UpstreamBackend(
            config.fhir_upstream_url,
            platform_token.from_config(config),
            timeout=config.fhir_upstream_timeout_seconds,
        )
        app.extensions[backends.EXTENSION] = upstream
        directory: patients.PatientDirectory = UpstreamPatientDirectory(upstream)
    else:
        app.extensions[backends.EXTENSION] = EmbeddedBackend()
        directory = StorePatientDirectory()
    # The picker and the EPJ launcher find patients where the apps will read them.
    patients.init_app(app, directory)
    # Errors outside the API's own views (an unknown route under /fhir/) as OperationOutcome too.
    register_renderer("/fhir/", outcomes.render)
    add_admin_link(app, "audit.tenant_audit", _l("Audit of data access"))
