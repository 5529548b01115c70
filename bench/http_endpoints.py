"""Throughput and latency of Torget's endpoints under gunicorn.

    .venv/bin/python bench/http_endpoints.py [--seconds 10] [--concurrency 8] [--workers 2]

Starts gunicorn with deploy/gunicorn.conf.py on a fresh SQLite instance in a
temporary directory (migrated, demo data loaded, API tokens issued), then
drives each endpoint from `--concurrency` threads with keep-alive connections
for `--seconds`, and prints requests per second and latency percentiles.
The load generator runs on the same machine, so the figures are a floor.
Set DATABASE_URL to benchmark against PostgreSQL instead.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


BENCH_USERS = ("lege.oslo@torget.example", "vendor@torget.example", "reviewer@torget.example")


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, load the demo data, and return a fresh API token per demo user, by email."""
    subprocess.run([BIN / "torget", "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "torget", "demo", "load"], env=env, check=True, capture_output=True)
    issue = (
        "from torget.app import create_app\n"
        "from torget.db import unit_of_work\n"
        "from accounts import api_tokens, users\n"
        "with create_app().app_context(), unit_of_work():\n"
        f"    for email in {BENCH_USERS!r}:\n"
        "        user = users.get_by_email(email)\n"
        "        print(api_tokens.issue(user, name='bench', expires_in_days=1).secret)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", issue], env=env, check=True, capture_output=True, text=True
    )
    tokens = out.stdout.strip().splitlines()[-len(BENCH_USERS) :]
    return dict(zip(BENCH_USERS, tokens, strict=True))


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("gunicorn did not become ready")


def drive(port: int, path: str, headers: dict[str, str], until: float, result: Result) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
            if not ok:
                print(path, response.status, file=sys.stderr)
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            ok = False
        if ok:
            result.latencies.append(time.perf_counter() - started)
        else:
            result.errors += 1
    connection.close()


def run(port: int, path: str, headers: dict[str, str], seconds: float, concurrency: int) -> str:
    results = [Result() for _ in range(concurrency)]
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=drive, args=(port, path, headers, until, r)) for r in results
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(x for r in results for x in r.latencies)
    errors = sum(r.errors for r in results)
    if not latencies:
        return f"| `{path}` | 0 | - | - | - | {errors} |"
    cuts = statistics.quantiles(latencies, n=100)
    return (
        f"| `{path}` | {len(latencies) / seconds:,.0f} | {cuts[49] * 1000:.1f} "
        f"| {cuts[94] * 1000:.1f} | {cuts[98] * 1000:.1f} | {errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="torget-bench-") as scratch:
        port = free_port()
        env = {
            **os.environ,
            "TORGET_ENV": "development",
            "TORGET_INSTANCE_PATH": scratch,
            "TORGET_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(args.workers),
            "PROMETHEUS_MULTIPROC_DIR": str(Path(scratch) / "prometheus"),
            "LOG_LEVEL": "WARNING",
        }
        tokens = prepare(env)
        server = subprocess.Popen(
            [BIN / "gunicorn", "-c", "deploy/gunicorn.conf.py", "torget.app:create_app()"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(port, server)
            database = env.get("DATABASE_URL", "sqlite").split(":")[0]
            print(
                f"gunicorn workers={args.workers}, concurrency={args.concurrency}, "
                f"{args.seconds:g} s per endpoint, database={database}\n"
            )
            print("| Endpoint | req/s | p50 ms | p95 ms | p99 ms | errors |")
            print("| --- | ---: | ---: | ---: | ---: | ---: |")
            clinician, vendor, reviewer = (
                {"Authorization": f"Bearer {tokens[email]}"} for email in BENCH_USERS
            )
            for path, headers in (
                ("/healthz", {}),
                ("/api/v1/tenants", {}),
                ("/api/v1/me", clinician),
                ("/m/", {}),
                ("/api/v1/applications/news2-varsel/releases", vendor),
                ("/api/v1/criteria", vendor),
                ("/api/v1/review/queue", reviewer),
            ):
                print(run(port, path, headers, args.seconds, args.concurrency), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
