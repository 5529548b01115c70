"""Sign-in, sign-out and the signed-in person's own page and API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from accounts import api_tokens, sign_in
from accounts.access import SESSION_KEY, login_required, require_user, start_browser_session
from accounts.forms import ApiTokenForm, ConfirmForm, LoginForm
from torget.access import public
from torget.errors import TooManyRequests
from torget.i18n import safe_next
from torget.ratelimit import client_ip, rate_limit

bp = Blueprint("accounts", __name__, template_folder="templates")


def _email_of_form() -> str | None:
    # As sign_in keys its lockout: one address, however it is typed.
    return request.form.get("email", "").strip().lower() or None


@bp.route("/login", methods=["GET", "POST"])
@public
# Besides the lockout after failed passwords (sign_in), which holds one
# address: a cap on attempts from one IP, over many addresses, and on one
# address, from many IPs.
@rate_limit("login", methods=["POST"], ip=client_ip, email=_email_of_form)
def login() -> ResponseReturnValue:
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            result = sign_in.authenticate(form.email.data or "", form.password.data or "")
        except TooManyRequests as locked:
            form.form_errors.append(locked.detail or "")
            return render_template("accounts/login.html", form=form), 429, locked.headers
        if result is not None:
            start_browser_session(result.session_id)
            return redirect(safe_next(form.next.data, url_for("accounts.me")), code=303)
        form.form_errors.append(_("The email address or the password is wrong."))
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@public
def logout() -> ResponseReturnValue:
    session_id = session.get(SESSION_KEY)
    if session_id:
        sign_in.end(session_id)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("home.index"), code=303)


@bp.get("/account")
@login_required
def me() -> ResponseReturnValue:
    return render_template("accounts/me.html", user=require_user())


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> ResponseReturnValue:
    user = require_user()
    form = ApiTokenForm()
    issued = None
    status = 200
    if form.validate_on_submit():
        issued = api_tokens.issue(
            user, name=form.name.data or "", expires_in_days=form.expires_in_days.data or 0
        )
        status = 201
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "accounts/tokens.html",
            form=form,
            issued=issued,
            tokens=api_tokens.list_for(user),
            revoke_form=ConfirmForm(),
        ),
        status,
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    token = api_tokens.revoke(require_user(), token_id)
    flash(_("The token %(name)s is revoked.", name=token.name), "success")
    return redirect(url_for("accounts.tokens"), code=303)
