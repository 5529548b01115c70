"""Structured logs: one JSON line per request, with a request id.

Secrets never reach a log line. The access line is built from an allow-list
(method, path, status, timing, ids), never from headers, bodies or query
values; and a filter on every handler scrubs anything shaped like a bearer
token, an API token or a password field as a second guard.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

log = logging.getLogger("torget.request")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_SECRET_PATTERNS = (
    # Authorization: Bearer/Basic <credentials>
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    # our personal API tokens, wherever they turn up
    (re.compile(r"torget_pat_[A-Za-z0-9_-]+"), "torget_pat_[redacted]"),
    # key=value pairs whose key names a secret
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|client_secret|token|access_token|refresh_token"
            r"|code|code_verifier|assertion|client_assertion|csrf_token)=([^&\s\"']+)"
        ),
        r"\1=[redacted]",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs secrets from the final message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        # Redact the whole line: a path or an exception can carry a secret too.
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


JsonFormatter.converter = time.gmtime


def configure_logging(level: str) -> None:
    """JSON lines on stderr, through the redacting filter. Idempotent."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "_torget", False):
            return
    handler = logging.StreamHandler(sys.stderr)
    handler._torget = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)


def _start() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    log.info(
        "request",
        extra={
            "fields": {
                "request_id": g.get("request_id"),
                "method": request.method,
                # the path only: query strings carry codes, states and tokens
                "path": request.path,
                "endpoint": request.endpoint,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": g.get("user_id"),
                "remote_addr": request.remote_addr,
            }
        },
    )
    return response


def init_app(app: Flask) -> None:
    configure_logging(app.config["TORGET"].log_level)
    app.before_request(_start)
    app.after_request(_finish)
