"""Is a request body a valid FHIR resource of the type its URL names?

fhir.resources validates against the R4B models (the package has no R4 set;
the resource types the gateway serves are the same in R4 and R4B except for
elements it does not index). A refusal names the element as a FHIRPath-like
path (`Observation.valueQuantity.value`), so the client can find it.
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

# FHIR id: 1 to 64 of letters, digits, '-' and '.'.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
MAX_ISSUES = 10


class InvalidResource(Exception):
    """The body is not a valid resource; `issues` are (element path, message) pairs."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in issues))
        self.issues = issues


def is_fhir_id(value: str) -> bool:
    return FHIR_ID.fullmatch(value) is not None


def validate(resource_type: str, body: Any) -> dict[str, Any]:
    """`body`, when it is a valid `resource_type`; else InvalidResource."""
    if not isinstance(body, dict):
        raise InvalidResource([(resource_type, "The body must be a JSON object.")])
    named = body.get("resourceType")
    if named != resource_type:
        raise InvalidResource(
            [(f"{resource_type}.resourceType", f"The body is not a {resource_type}: {named!r}.")]
        )
    model = get_fhir_model_class(resource_type)
    try:
        model.model_validate(body)
    except ValidationError as error:
        raise InvalidResource(_issues(resource_type, error)) from None
    except (ValueError, TypeError, RecursionError) as error:
        # fhir.resources raises plain errors for a few shapes pydantic does not see.
        raise InvalidResource([(resource_type, str(error)[:300])]) from None
    # Stored as sent, not as the model dumps it: a decimal keeps its precision (1.50).
    return body


def _issues(resource_type: str, error: ValidationError) -> list[tuple[str, str]]:
    issues = []
    for detail in error.errors()[:MAX_ISSUES]:
        path = ".".join(
            f"{part}" if isinstance(part, str) else f"[{part}]" for part in detail["loc"]
        ).replace(".[", "[")
        issues.append((f"{resource_type}.{path}" if path else resource_type, detail["msg"]))
    return issues or [(resource_type, "The resource is not valid.")]
