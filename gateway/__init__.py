"""The platform data API: the per-tenant FHIR gateway (issue 7)."""
