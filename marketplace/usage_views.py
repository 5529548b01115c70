"""Usage and cost pages: a municipality's per app (/m/<tenant>/usage), a vendor's per app.

Read-only pages: each parses `?year=`, asks `marketplace.costs` once and
renders; the service refuses anyone but the municipality's admins or the
app's vendor's members (403).
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from accounts.access import login_required, require_user, requires
from accounts.models import Role
from catalog import applications, labels
from marketplace import charts, costs, tenants
from marketplace.usage_schemas import usage_year
from torget.csv_cells import spreadsheet_safe

bp = Blueprint("usage", __name__, template_folder="templates")

# Column names are keys for spreadsheets and scripts, like the API's field
# names: the same in every language, so a saved import keeps working.
CSV_HEADER = [
    "app_slug",
    "app_name",
    "month",
    "launches",
    "tokens",
    "active_users",
    "cost_accrued_nok",
]


@bp.get("/m/<tenant>/usage")
@requires(Role.MUNICIPAL_ADMIN, organisation_arg="tenant")
def tenant_usage(tenant: str) -> ResponseReturnValue:
    report = costs.tenant_usage(
        tenants.get_by_slug(tenant), year=usage_year(request.args), by=require_user()
    )
    return render_template(
        "marketplace/usage/tenant.html",
        report=report,
        first_year=costs.FIRST_YEAR,
        this_year=costs.today_utc().year,
        chart=charts.usage_chart,
        kroner=labels.kroner,
    )


@bp.get("/m/<tenant>/usage.csv")
@requires(Role.MUNICIPAL_ADMIN, organisation_arg="tenant")
def tenant_usage_csv(tenant: str) -> ResponseReturnValue:
    report = costs.tenant_usage(
        tenants.get_by_slug(tenant), year=usage_year(request.args), by=require_user()
    )
    filename = f"torget-usage-{report.tenant.slug}-{report.year}.csv"
    return Response(
        _csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/vendor/apps/<slug>/usage")
@login_required
def application_usage(slug: str) -> ResponseReturnValue:
    report = costs.application_usage(
        applications.get_by_slug(slug), year=usage_year(request.args), by=require_user()
    )
    return render_template(
        "marketplace/usage/application.html",
        report=report,
        first_year=costs.FIRST_YEAR,
        this_year=costs.today_utc().year,
        chart=charts.usage_chart,
        month_labels=charts.month_labels,
    )


def _nok(ore: int | None) -> str:
    # A plain decimal point: the file is for programs as much as for people.
    return "" if ore is None else f"{ore // 100}.{ore % 100:02d}"


def _csv(report: costs.TenantUsage) -> str:
    """One row per app and month, under a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for app in report.apps:
        accrued = app.cost.by_month_ore if app.cost else (None,) * 12
        for month, cost in zip(app.months, accrued, strict=True):
            row = [
                app.application.slug,
                app.application.name,
                month.month.strftime("%Y-%m"),
                month.launches,
                month.tokens,
                month.active_users,
                _nok(cost),
            ]
            writer.writerow([spreadsheet_safe(value) for value in row])
    return out.getvalue()
