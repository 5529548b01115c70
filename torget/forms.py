"""Showing a service's field errors on the form that sent the input."""

from __future__ import annotations

from flask import g
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from torget.errors import DomainError


class CheckboxesField(SelectMultipleField):
    """One checkbox per choice, each with its own label."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def show_errors(form: FlaskForm, error: DomainError) -> None:
    """Put each of `error`'s field messages on the form field of that name.

    Messages for fields the form does not have (a nested "redirect_uris.2", a
    rule about the whole input) go to the summary at the top of the form, so
    nothing the service said is lost. Call it when the service raised, then
    render the form again with status 422 (or the error's status).
    """
    placed = False
    for name, messages in error.fields.items():
        field = form._fields.get(name.split(".")[0])
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
        placed = True
    if not placed:
        form.form_errors.append(error.detail or str(error.title))


def refuse(form: FlaskForm, error: DomainError) -> int:
    """Show a service's refusal on the form that was sent; the error's status.

    The view handles the error instead of the shell's handler, so it marks the
    request for rollback as that handler would: a refused request writes nothing.
    """
    g.torget_rollback = True
    show_errors(form, error)
    return error.status
