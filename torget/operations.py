"""Health, readiness and metrics for operators and orchestrators.

- `/healthz`: the process answers.
- `/readyz`: the database (and Redis, when configured) answers; 503 otherwise.
- `/metrics`: Prometheus text format, request counts and latencies by
  endpoint, method and status. Under gunicorn with several workers set
  PROMETHEUS_MULTIPROC_DIR so the workers' figures are summed.
"""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from torget.access import public
from torget.db import db

log = logging.getLogger(__name__)

bp = Blueprint("operations", __name__)

REQUESTS = Counter(
    "torget_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "torget_http_request_duration_seconds",
    "Time from request start to response, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


@bp.get("/healthz")
@public
def healthz() -> Response:
    return Response("ok\n", mimetype="text/plain")


@bp.get("/readyz")
@public
def readyz() -> Response:
    problems = []
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        problems.append("database")
    redis_url = current_app.config["TORGET"].redis_url
    if redis_url:
        try:
            redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1).ping()
        except (redis.RedisError, OSError) as exc:
            log.warning("readiness: redis unreachable: %s", type(exc).__name__)
            problems.append("redis")
    if problems:
        return Response(f"unavailable: {', '.join(problems)}\n", 503, mimetype="text/plain")
    return Response("ready\n", mimetype="text/plain")


@bp.get("/metrics")
@public
def metrics() -> Response:
    if current_app.config["TORGET"].metrics_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    # Label by endpoint name, never by raw path: paths carry ids and would
    # make the label set unbounded.
    endpoint = request.endpoint or "unmatched"
    method = request.method if request.method in _METHODS else "OTHER"
    REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)
