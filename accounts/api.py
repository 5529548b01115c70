"""The accounts JSON API: who am I, and my personal API tokens."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint

from accounts import api_tokens
from accounts.access import login_required, require_user
from accounts.models import ApiToken, User
from accounts.schemas import ApiTokenSchema, IssuedApiTokenSchema, UserSchema
from torget.errors import Forbidden

blp = Blueprint("accounts-api", __name__, url_prefix="/api/v1", description="Your account")


@blp.route("/me")
class Me(MethodView):
    @login_required
    @blp.response(200, UserSchema)
    def get(self) -> User:
        """The signed-in user and their roles."""
        return require_user()


@blp.route("/tokens")
class Tokens(MethodView):
    @login_required
    @blp.response(200, ApiTokenSchema(many=True))
    def get(self) -> list[ApiToken]:
        """Your API tokens (never their secrets)."""
        return api_tokens.list_for(require_user())

    @login_required
    @blp.arguments(ApiTokenSchema)
    @blp.response(201, IssuedApiTokenSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a token. Its secret is in this response only.

        Needs a signed-in browser session: a token cannot mint further tokens,
        so a leaked token cannot outlive its own expiry.
        """
        if g.get("via_token"):
            raise Forbidden(_("Create API tokens from a signed-in session, not with a token."))
        issued = api_tokens.issue(
            require_user(), name=data["name"], expires_in_days=data["expires_in_days"]
        )
        token = issued.token
        return {
            "id": token.id,
            "name": token.name,
            "prefix": token.prefix,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "token": issued.secret,
        }


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, token_id: int) -> None:
        """Revoke one of your tokens; it stops working at once."""
        api_tokens.revoke(require_user(), token_id)
