"""The platform data API: each municipality's FHIR API, its store, enforcement and audit."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from auth import patients
    from gateway import api, audit_views, enforcement, metadata, models, outcomes  # noqa: F401
    from gateway.directory import StorePatientDirectory
    from marketplace.views import add_admin_link
    from torget.errors import register_renderer

    app.register_blueprint(metadata.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(audit_views.bp)
    enforcement.init_app(app)
    # The picker and the EPJ launcher find patients where the apps will read them.
    patients.init_app(app, StorePatientDirectory())
    # Errors outside the API's own views (an unknown route under /fhir/) as OperationOutcome too.
    register_renderer("/fhir/", outcomes.render)
    add_admin_link(app, "audit.tenant_audit", _l("Audit of data access"))
