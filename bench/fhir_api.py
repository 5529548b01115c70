"""FHIR reads and searches per second through the gateway, against the same store unenforced.

    .venv/bin/python bench/fhir_api.py [--seconds 10] [--connections 32] [--threads 2]
        [--workers 2]

Set up as bench/token.py sets up (its `prepare`: a certified backend service
with an ES384 key and `system/Observation.rs system/Patient.rs` enabled in
municipality "oslo"), plus the demo FHIR data of "oslo" (gateway/demo.py).
Gunicorn (deploy/gunicorn.conf.py, `--workers`, sync workers, rate limits off)
serves Torget, one access token is issued by the client_credentials flow, and
wrk drives, each for `--seconds` over `--connections` connections, with that
token as `Authorization: Bearer`:

- read: `GET /fhir/oslo/Patient/pas-oslo-001`;
- search: `GET /fhir/oslo/Observation?patient=pas-oslo-001&category=vital-signs
  &_sort=-date&_count=20`.

Each request validates the token (ES256 signature, expiry, `aud`), reads its
live status at most once a second per worker, enforces the scopes, runs the
store and writes an audit row. The floor is bench/bare_store.py, measured in
the same run on the same database under the same gunicorn set-up once Torget
has stopped: Torget with those two views answering from the store directly
(no token, no enforcement, no audit). Before measuring, each address must
answer 200 with a body, and the floor the same resources as the gateway.
Prints one Markdown table with the ratios gateway ÷ floor.

Without wrk the load comes from Python threads (see bench/token.py). Set
DATABASE_URL to a PostgreSQL server database to measure PostgreSQL (a database
of its own beside it, analyzed once the FHIR data is in, dropped afterwards).
"""

from __future__ import annotations

import sys

# bench/token.py's name shadows the standard library's `token` while this folder leads
# sys.path: take the folder out before the imports, and load bench/token.py from its file.
sys.path.pop(0)

import argparse
import http.client
import importlib.machinery
import json
import os
import shutil
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from auth.urls import tenant_by_slug
from gateway import demo
from torget.app import create_app
from torget.db import db, unit_of_work

BENCH = Path(__file__).resolve().parent
TENANT = "oslo"
READ = f"/fhir/{TENANT}/Patient/pas-oslo-001"
SEARCH = (
    f"/fhir/{TENANT}/Observation?patient=pas-oslo-001&category=vital-signs&_sort=-date&_count=20"
)


def _load_token_bench() -> ModuleType:
    """bench/token.py as the module `bench_token` (`token` is the standard library's)."""
    # It moves its folder from the head of sys.path to the end itself, as when run as a
    # script; there the folder still finds bench/http_endpoints.py and catalog_search.py.
    sys.path.insert(0, str(BENCH))
    loader = importlib.machinery.SourceFileLoader("bench_token", str(BENCH / "token.py"))
    module = ModuleType(loader.name)
    module.__file__ = loader.path
    # Registered first: its dataclasses and the pickles of its signing processes look it up.
    sys.modules[loader.name] = module
    loader.exec_module(module)
    return module


token_bench = _load_token_bench()


def load_fhir(env: dict[str, str]) -> int:
    """The demo FHIR resources of the tenant, in a unit of work of their own; how many."""
    app = create_app(environ=env)
    with app.app_context():
        with unit_of_work():
            written = demo.load([tenant_by_slug(TENANT)])
        if db.engine.dialect.name == "postgresql":
            # Measure the steady state: autovacuum would analyze the freshly loaded tables
            # within a minute or so. Before it does, the planner has no statistics and the
            # search took about 20 times as long (87 ms against 4 ms, one at a time).
            with db.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        db.engine.dispose()  # gunicorn's workers open their own connections
    if not written:
        raise SystemExit(f"no demo FHIR data was loaded for {TENANT}")
    return written


def fetch(port: int, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """One GET that must answer 200 with a JSON body: a benchmark of refusals is worthless."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status != 200 or not body:
        raise SystemExit(f"GET {path} answered {response.status}: {body[:500]!r}")
    return json.loads(body)


def found(read: dict[str, Any], bundle: dict[str, Any]) -> tuple[Any, ...]:
    """What the answers hold, apart from URLs (each server names its own base)."""
    return read, bundle["total"], [entry["resource"] for entry in bundle["entry"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="torget-bench-") as scratch_dir,
        token_bench.database(Path(scratch_dir), 0) as url,
    ):
        scratch = Path(scratch_dir)
        port, floor_port = token_bench.free_port(), token_bench.free_port()
        env = token_bench.migrated_instance(scratch, url, port)
        backend = token_bench.prepare(env)
        resources = load_fhir(env)
        gunicorn = [str(token_bench.BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"]
        gunicorn += ["--workers", str(args.workers)]
        with token_bench.serve([*gunicorn, "torget.app:create_app()"], env, port, token_bench.ROOT):
            bearer = {"Authorization": f"Bearer {token_bench.issue_one(port, backend)}"}
            served = found(fetch(port, READ, bearer), fetch(port, SEARCH, bearer))
            if not served[2]:
                raise SystemExit(f"GET {SEARCH} found nothing: a search of no rows is no measure")
            reads = token_bench.measure(
                port, f"Torget read `GET {READ}`", "GET", READ,
                args=args, scratch=scratch, headers=bearer,
            )  # fmt: skip
            searches = token_bench.measure(
                port, f"Torget search `GET {SEARCH}`", "GET", SEARCH,
                args=args, scratch=scratch, headers=bearer,
            )  # fmt: skip
        floor_env = {
            **env,
            "TORGET_BASE_URL": f"http://127.0.0.1:{floor_port}",
            "TORGET_BIND": f"127.0.0.1:{floor_port}",
        }
        with token_bench.serve([*gunicorn, "bench.bare_store:create_app()"], floor_env,
                               floor_port, token_bench.ROOT):  # fmt: skip
            if found(fetch(floor_port, READ, {}), fetch(floor_port, SEARCH, {})) != served:
                raise SystemExit("the bare store does not answer what the gateway answers")
            bare_reads = token_bench.measure(
                floor_port, f"bare store read `GET {READ}`", "GET", READ,
                args=args, scratch=scratch,
            )  # fmt: skip
            bare_searches = token_bench.measure(
                floor_port, f"bare store search `GET {SEARCH}`", "GET", SEARCH,
                args=args, scratch=scratch,
            )  # fmt: skip

    database_kind = os.environ.get("DATABASE_URL", "sqlite").split(":")[0]
    driver = "wrk" if shutil.which("wrk") else "Python threads"
    _, total, entries = served
    print(
        f"gunicorn {args.workers} sync workers, {driver}, {args.connections} connections, "
        f"{args.seconds} s per endpoint, database={database_kind}; {resources:,} FHIR "
        f"resources in {TENANT}, the search finds {total} and returns {len(entries)}\n"
    )
    print("| Endpoint | req/s | p50 ms | p99 ms | errors | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    row = token_bench.row
    print(row(reads, f"{reads.per_second / bare_reads.per_second:.2f} of the bare store read"))
    print(
        row(
            searches,
            f"{searches.per_second / bare_searches.per_second:.2f} of the bare store search",
        )
    )
    print(row(bare_reads))
    print(row(bare_searches))


if __name__ == "__main__":
    main()
