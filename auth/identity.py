"""Who a token speaks of, as FHIR names them: the user's Practitioner resource.

The gateway serves a Practitioner per clinician under the same id, so
`fhirUser` resolves on the municipality's FHIR base.
"""

from __future__ import annotations

from accounts.models import User


def practitioner_id(user: User) -> str:
    """The id of the user's Practitioner resource: by HPR number when they have one."""
    return practitioner_reference(user.id, user.hpr_number)


def practitioner_reference(user_id: int, hpr_number: str | None) -> str:
    """`practitioner_id` from the two columns it reads (for callers that hold no model)."""
    return f"hpr-{hpr_number}" if hpr_number else f"user-{user_id}"


def fhir_user(user: User, fhir_base: str) -> str:
    """The `fhirUser` claim: the absolute URL of the user's Practitioner resource."""
    return f"{fhir_base}/Practitioner/{practitioner_id(user)}"
