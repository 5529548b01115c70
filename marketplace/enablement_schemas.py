"""What the enablements API accepts and returns.

Input schemas check shape and type only; `marketplace.enablements` checks
meaning (never more than the release registered, who may launch, the terms
version, who confirmed the exit step) and answers with field errors of its own.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from catalog import applications, scopes
from catalog.models import Application, ReleaseState
from catalog.schemas import ExplainedScopes, Text
from marketplace import enablements, terms
from marketplace.enablements import LAUNCH_ROLES, Access
from marketplace.models import Enablement, EnablementEventKind, EnablementState, ExitStep
from torget.errors import NotFound


def _enum(enum: type, **kwargs: Any) -> fields.Enum:
    return fields.Enum(enum, by_value=True, **kwargs)


class AppSlug(Text):
    """An app, named by its slug; an unknown slug is a field error, not a missing page."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=100, metadata={"example": "news2-varsel"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Application:
        slug = super()._deserialize(value, attr, data, **kwargs)
        try:
            return applications.get_by_slug(slug.strip())
        except NotFound as error:
            raise ValidationError(error.detail or str(error.title)) from None


def _scope_list(**kwargs: Any) -> fields.List:
    return fields.List(
        Text(max_length=scopes.MAX_LENGTH),
        validate=validate.Length(max=scopes.MAX_SCOPES),
        metadata={
            "description": "Each approved scope, within those the release registered: the "
            "same scope or a narrower one (patient/Observation.r of patient/Observation.rs).",
            "example": ["launch", "openid", "patient/Observation.rs"],
        },
        **kwargs,
    )


def _role_list(**kwargs: Any) -> fields.List:
    return fields.List(
        Text(max_length=32),
        validate=validate.Length(max=len(LAUNCH_ROLES)),
        metadata={
            "description": f"Who may launch the app: {', '.join(LAUNCH_ROLES)}. None for a "
            "backend service, which has no user.",
            "example": ["clinician"],
        },
        **kwargs,
    )


# --- output --------------------------------------------------------------------------


class PinnedReleaseSchema(Schema):
    version = fields.String(metadata={"example": "1.1.0"})
    state = _enum(ReleaseState)


def _newer_version(enablement: Enablement) -> str | None:
    if enablement.state != EnablementState.ACTIVE:
        return None
    newer = enablements.newer_release(enablement)
    return newer.version if newer else None


class EnablementSchema(Schema):
    tenant = fields.String(attribute="tenant.slug", metadata={"example": "oslo"})
    app = fields.String(attribute="application.slug", metadata={"example": "news2-varsel"})
    app_name = fields.String(attribute="application.name")
    state = _enum(EnablementState)
    release = fields.Nested(
        PinnedReleaseSchema, metadata={"description": "The release the enablement is pinned to."}
    )
    scopes = fields.List(fields.String(), attribute="scope_list")
    scopes_explained = ExplainedScopes(
        attribute="approved_scopes",
        metadata={"description": "Each approved scope with what it lets the app do."},
    )
    roles = fields.List(fields.String())
    stopped = fields.Function(
        enablements.is_stopped,
        metadata={
            "type": "boolean",
            "description": "The pinned release is suspended or revoked: nobody can launch it.",
        },
    )
    newer_release = fields.Function(
        _newer_version,
        metadata={
            "type": "string",
            "nullable": True,
            "description": "A newer certified release waiting for you (see .../pending).",
        },
    )
    enabled_at = fields.DateTime()
    changed_at = fields.DateTime()


class EnablementEventSchema(Schema):
    kind = _enum(EnablementEventKind)
    release = fields.String(attribute="release.version", allow_none=True)
    scopes = fields.Function(
        lambda event: event.scopes.split(),
        metadata={"type": "array", "items": {"type": "string"}},
    )
    roles = fields.List(fields.String())
    exit_step = _enum(ExitStep, allow_none=True)
    exit_confirmed_by = fields.String()
    note = fields.String()
    actor = fields.String(
        attribute="actor.display_name",
        allow_none=True,
        metadata={"description": "Who did it; left out when Torget itself did."},
    )
    at = fields.DateTime()


class ReleaseDiffSchema(Schema):
    added = fields.List(fields.String())
    removed = fields.List(fields.String())
    kept = fields.List(fields.String())
    launch_modes_added = fields.List(fields.String())
    launch_modes_removed = fields.List(fields.String())


class PendingSchema(Schema):
    current = fields.String(metadata={"description": "The version the municipality runs now."})
    newer = fields.String(
        allow_none=True,
        metadata={"description": "The app's newer certified release; null when there is none."},
    )
    widening = fields.List(
        fields.String(),
        metadata={
            "description": "What the newer release asks for beyond the pinned one. Nothing "
            "of it is granted until you approve it by moving with scopes."
        },
    )
    dropped = fields.List(
        fields.String(),
        metadata={"description": "Approved scopes the newer release no longer asks for."},
    )
    one_click = fields.Boolean(
        metadata={"description": "Whether moving without scopes is allowed (nothing widens)."}
    )
    diff = fields.Nested(ReleaseDiffSchema, allow_none=True)


# --- input ----------------------------------------------------------------------------


class EnableSchema(Schema):
    app = AppSlug(required=True)
    scopes = _scope_list(required=True)
    roles = _role_list(load_default=list)
    terms_version = Text(
        required=True,
        max_length=64,
        metadata={
            "description": "The version of the terms and data processing agreement you "
            f"accept: it must be the current one, {terms.VERSION}.",
            "example": terms.VERSION,
        },
    )

    @post_load
    def to_input(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """`enablements.enable`'s arguments."""
        return {
            "application": data["app"],
            "access": Access(scopes=data["scopes"], roles=data["roles"]),
            "terms_version": data["terms_version"],
        }


class AccessSchema(Schema):
    """The approved scopes and roles; on PATCH, fields left out stay as they are."""

    scopes = _scope_list(required=True)
    roles = _role_list(required=True)


class MoveSchema(Schema):
    version = Text(
        required=True,
        max_length=64,
        metadata={"description": "The app's newer certified release.", "example": "1.1.0"},
    )
    scopes = _scope_list()
    roles = _role_list()


class DisableSchema(Schema):
    exit_step = _enum(
        ExitStep,
        required=True,
        metadata={"description": "What became of the municipality's data the vendor held."},
    )
    confirmed_by = Text(
        required=True,
        max_length=200,
        metadata={"description": "Who at the vendor confirmed it, in writing."},
    )
    note = Text(load_default="", max_length=enablements.MAX_NOTE)
