"""The front page `/`, which every page links to as `home.index`.

The URL map gives `/` to the marketplace: its catalog, with a short welcome
above the results. The shell owns the address but may not import the
marketplace (imports run one way), so the marketplace provides the page when
it is set up (`provide_front_page`), as later packages provide what earlier
ones declare.
"""

from __future__ import annotations

from typing import Protocol

from flask import Blueprint, Flask, current_app
from flask.typing import ResponseReturnValue

from torget.access import public

bp = Blueprint("home", __name__)

_EXTENSION = "torget_front_page"


class FrontPage(Protocol):
    def __call__(self) -> ResponseReturnValue: ...


def provide_front_page(app: Flask, page: FrontPage) -> None:
    """Serve `page` at `/`; it reads its GET parameters from the request itself."""
    app.extensions[_EXTENSION] = page


@bp.get("/")
@public
def index() -> ResponseReturnValue:
    page: FrontPage = current_app.extensions[_EXTENSION]
    return page()
