"""Client-credentials tokens and introspections per second, against a bare Flask floor.

    .venv/bin/python bench/token.py [--seconds 10] [--connections 32] [--threads 2]
        [--workers 2] [--assertions 60000]

A fresh SQLite instance in a temporary directory is migrated and given,
through the services in an app context, a certified backend service (an
ES384 key, system/ scopes) enabled in one municipality, an operator with an
API token, and the authorization server's signing key. Gunicorn
(deploy/gunicorn.conf.py, `--workers`, sync workers, rate limits off) serves
it, and wrk drives, each for `--seconds` over `--connections` connections:

- `POST /oauth/token`, grant_type=client_credentials with private_key_jwt:
  every request carries its own client assertion (a jti is spent once, and
  an assertion lives at most five minutes), so `--assertions` of them are
  signed just before the run and bench/token.lua hands out one per request;
- `POST /oauth/introspect` of one access token issued before the run, as a
  resource server does it: Bearer the operator's API token.

The floor is bench/bare_flask.py under gunicorn with as many sync workers,
measured in the same run: `GET /`, and `POST /sign/ES256` and
`/sign/RS256`, which sign one access-token-shaped JWT with a key imported
once. The ratios: Torget's tokens/s over the ES256 floor (Torget signs
ES256), its introspections/s over bare Flask's GET. Prints one Markdown table.

Without wrk (Debian package `wrk`) the load comes from Python threads as in
bench/http_endpoints.py, which is slower than the servers it drives: the
figures are then a floor. Set DATABASE_URL to a PostgreSQL server database to
measure PostgreSQL (a database of its own beside it, dropped afterwards).
"""

from __future__ import annotations

import sys

# This file's name shadows the standard library's `token` module, which
# `inspect` and `tokenize` import, while this folder leads sys.path: move it last.
sys.path.append(sys.path.pop(0))

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import jwt
from catalog_search import database
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from http_endpoints import BIN, ROOT, Result, free_port, wait_ready
from joserfc.jwk import ECKey

from accounts import api_tokens, users
from accounts.models import Organisation, Role, User
from auth import keys
from catalog import applications, credentials, criteria, files, releases, reviews, vendors
from catalog.applications import Listing
from catalog.models import Environment, Outcome
from catalog.releases import ReleaseInput
from marketplace import enablements, tenants, terms
from torget.app import create_app
from torget.db import db, unit_of_work

SCOPES = "system/Observation.rs system/Patient.rs"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KID = "bench-backend-1"
LUA = Path(__file__).resolve().parent / "token.lua"
# A stand-in for each certification document: the upload checks only the PDF header.
EVIDENCE = b"%PDF-1.4\n% bench/token.py: evidence stand-in\n%%EOF\n"


@dataclass(frozen=True)
class Backend:
    """What the load generator needs to know of the instance it set up."""

    client_id: str
    private_pem: bytes
    operator_token: str
    token_endpoint: str


@dataclass(frozen=True)
class Measured:
    endpoint: str
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _person(
    email: str, password: str, role: Role | None = None, organisation: Organisation | None = None
) -> User:
    user = users.create_user(email=email, display_name=email, password=password)
    if role is not None:
        users.grant_role(user, role, organisation)
    return user


def prepare(env: dict[str, str]) -> Backend:
    """A certified backend service enabled in one municipality, and an operator, in one go."""
    private_key = ec.generate_private_key(ec.SECP384R1())
    public = ECKey.import_key(private_key.public_key()).as_dict(private=False)
    password = uuid.uuid4().hex + "Aa1!"
    app = create_app(environ=env)
    with app.app_context(), unit_of_work():
        keys.ensure_current()
        member = _person("leverandor@bench.example", password)
        reviewer = _person("reviewer@bench.example", password, Role.REVIEWER)
        operator = _person("operator@bench.example", password, Role.OPERATOR)
        vendor = vendors.sign_up(
            member,
            name="Benk Data AS",
            organisation_number="987654325",
            profile=vendors.VendorProfile(
                "post@bench.example", "sikkerhet@bench.example", "https://bench.example"
            ),
        )
        criteria.seed()
        application = applications.create(
            vendor,
            slug="benk-statistikk",
            listing=Listing(
                name="Benk Statistikk",
                summary_nb="Henter styringsdata for benken.",
                summary_en="Fetches management data for the benchmark.",
                description_nb="En bakgrunnstjeneste som bare finnes i bench/token.py.",
                description_en="A backend service that exists only in bench/token.py.",
                category="analytics",
                audience="backend",
                support_url="https://bench.example/support",
                privacy_url="https://bench.example/privacy",
                price_model="free",
            ),
            by=member,
        )
        release = releases.create_draft(
            application,
            ReleaseInput(version="1.0.0", client_type="backend"),
            by=member,
        )
        releases.update_draft(
            release,
            ReleaseInput(
                jwks={"keys": [{**public, "kid": KID, "alg": "ES384", "use": "sig"}]},
                scopes=SCOPES,
                launch_modes=[],
                release_notes="Første versjon.",
                data_use_statement="Leser observasjoner og pasienter for statistikk.",
            ),
            by=member,
        )
        today = dt.datetime.now(dt.UTC).date()
        mandatory = [c for c in criteria.active() if c.mandatory]
        for criterion in mandatory:
            releases.add_evidence(
                release,
                criterion,
                files.store_document(EVIDENCE, "evidence.pdf"),
                filename=f"{criterion.code}.pdf",
                issued_on=today - dt.timedelta(days=1),
                expires_on=None,
                by=member,
            )
        releases.submit(release, by=member)
        reviews.start(release, by=reviewer)
        for criterion in criteria.active():
            outcome = Outcome.PASSED if criterion.mandatory else Outcome.NOT_APPLICABLE
            reviews.record_check(release, criterion, outcome, "OK", by=reviewer)
        reviews.certify(release, by=reviewer)
        tenant = tenants.create_tenant(
            slug="oslo", name="Oslo kommune", organisation_number="958935420", population=717_000
        )
        admin = _person("admin@bench.example", password, Role.MUNICIPAL_ADMIN, tenant.organisation)
        enablements.enable(
            tenant,
            application,
            enablements.Access(SCOPES.split(), []),
            terms_version=terms.VERSION,
            by=admin,
        )
        client = credentials.ensure_client(application, Environment.PRODUCTION)
        backend = Backend(
            client_id=client.client_id,
            private_pem=private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            operator_token=api_tokens.issue(operator, name="bench", expires_in_days=1).secret,
            token_endpoint=env["TORGET_BASE_URL"] + "/oauth/token",
        )
    with app.app_context():
        db.engine.dispose()  # gunicorn's workers open their own connections
    return backend


def _sign_bodies(backend: Backend, count: int) -> list[str]:
    """`count` token request bodies, each with a client assertion of its own."""
    key = serialization.load_pem_private_key(backend.private_pem, password=None)
    now = int(time.time())
    bodies = []
    for _ in range(count):
        claims = {
            "iss": backend.client_id,
            "sub": backend.client_id,
            "aud": backend.token_endpoint,
            "iat": now,
            "exp": now + 290,  # SMART: at most five minutes ahead
            "jti": uuid.uuid4().hex,
        }
        assertion = jwt.encode(claims, key, algorithm="ES384", headers={"kid": KID})
        bodies.append(
            urlencode(
                {
                    "grant_type": "client_credentials",
                    "scope": SCOPES,
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion,
                }
            )
        )
    return bodies


def token_bodies(backend: Backend, count: int) -> list[str]:
    """Sign on every core: ES384 takes half a millisecond each."""
    cores = os.cpu_count() or 1
    shares = [count // cores + (i < count % cores) for i in range(cores)]
    with ProcessPoolExecutor(cores) as pool:
        return list(
            itertools.chain.from_iterable(pool.map(_sign_bodies, [backend] * cores, shares))
        )


def post(port: int, path: str, body: str, headers: dict[str, str]) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded", **headers}
    )
    response = connection.getresponse()
    answer = (response.status, json.loads(response.read()))
    connection.close()
    return answer


def issue_one(port: int, backend: Backend) -> str:
    """An access token to introspect, issued as every measured one is."""
    status, body = post(port, "/oauth/token", token_bodies(backend, 1)[0], {})
    if status != 200:
        raise SystemExit(f"the token endpoint refused the set-up's request: {status} {body}")
    status, found = post(
        port,
        "/oauth/introspect",
        urlencode({"token": body["access_token"]}),
        {"Authorization": f"Bearer {backend.operator_token}"},
    )
    if status != 200 or not found.get("active"):
        raise SystemExit(f"introspection did not find the token active: {status} {found}")
    return body["access_token"]


@contextmanager
def serve(command: list[str], env: dict[str, str], port: int, cwd: Path) -> Iterator[None]:
    server = subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, server)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(
    port: int,
    name: str,
    method: str,
    path: str,
    *,
    args: argparse.Namespace,
    scratch: Path,
    headers: dict[str, str] | None = None,
    bodies: list[str] | None = None,
    single_use: bool = False,
) -> Measured:
    """Drive one endpoint for `args.seconds`: with wrk if installed, else Python threads.

    `bodies` are sent in turn; `single_use`: each is good for one request only.
    """
    headers = dict(headers or {})
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if shutil.which("wrk"):
        measured, sent = _wrk(port, name, method, path, headers, bodies, args, scratch)
    else:
        measured, sent = _threads(port, name, method, path, headers, bodies or [""], args)
    if single_use and bodies is not None and sent > len(bodies):
        print(f"{name}: {sent} requests, {len(bodies)} bodies: raise --assertions", file=sys.stderr)
    return measured


def _wrk(
    port: int,
    name: str,
    method: str,
    path: str,
    headers: dict[str, str],
    bodies: list[str] | None,
    args: argparse.Namespace,
    scratch: Path,
) -> tuple[Measured, int]:
    bodies_file = "-"
    if bodies is not None:
        bodies_file = str(scratch / "bodies.txt")
        Path(bodies_file).write_text("\n".join(bodies) + "\n")
    command = [
        "wrk",
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={args.seconds}s",
        "--timeout=10s",
        f"--script={LUA}",
        f"http://127.0.0.1:{port}{path}",
        "--",
        method,
        path,
        bodies_file,
        str(args.threads),
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    ok = summary["requests"] - summary["status_errors"]
    measured = Measured(
        name,
        ok / (summary["duration_us"] / 1e6),
        summary["p50_us"] / 1000,
        summary["p99_us"] / 1000,
        summary["status_errors"] + summary["other_errors"],
    )
    return measured, summary["requests"]


def _drive(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    next_body: Iterator[str],
    until: float,
    result: Result,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            connection.request(method, path, next(next_body) or None, headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            ok = False
        if ok:
            result.latencies.append(time.perf_counter() - started)
        else:
            result.errors += 1
    connection.close()


def _threads(
    port: int,
    name: str,
    method: str,
    path: str,
    headers: dict[str, str],
    bodies: list[str],
    args: argparse.Namespace,
) -> tuple[Measured, int]:
    # One shared cursor: next() on itertools.cycle is atomic under the GIL, so no
    # two threads send one assertion (until the list wraps: those are replays).
    shared = itertools.cycle(bodies)
    results = [Result() for _ in range(args.connections)]
    until = time.perf_counter() + args.seconds
    threads = [
        threading.Thread(target=_drive, args=(port, method, path, headers, shared, until, r))
        for r in results
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(x for r in results for x in r.latencies)
    errors = sum(r.errors for r in results)
    sent = len(latencies) + errors
    if len(latencies) < 2:
        return Measured(name, 0, 0, 0, errors), sent
    cuts = statistics.quantiles(latencies, n=100)
    per_second = len(latencies) / args.seconds
    return Measured(name, per_second, cuts[49] * 1000, cuts[98] * 1000, errors), sent


def row(measured: Measured, ratio: str = "") -> str:
    return (
        f"| {measured.endpoint} | {measured.per_second:,.0f} | {measured.p50_ms:.1f} "
        f"| {measured.p99_ms:.1f} | {measured.errors} | {ratio} |"
    )


def migrated_instance(scratch: Path, url: str, port: int) -> dict[str, str]:
    """The environment of a Torget instance in `scratch` on `url`, migrated, rate limits off."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TORGET_ENV": "development",
        "TORGET_INSTANCE_PATH": str(scratch),
        "TORGET_BASE_URL": f"http://127.0.0.1:{port}",
        "TORGET_BIND": f"127.0.0.1:{port}",
        "TORGET_RATE_LIMITS": "off",
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "prometheus"),
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([BIN / "torget", "db", "upgrade"], env=env, check=True, capture_output=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assertions", type=int, default=60_000)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="torget-bench-") as scratch_dir,
        database(Path(scratch_dir), 0) as url,
    ):
        scratch = Path(scratch_dir)
        port, floor_port = free_port(), free_port()
        env = migrated_instance(scratch, url, port)
        backend = prepare(env)
        operator = {"Authorization": f"Bearer {backend.operator_token}"}
        torget = [BIN / "gunicorn", "-c", "deploy/gunicorn.conf.py"]
        torget += ["--workers", str(args.workers), "torget.app:create_app()"]
        with serve([str(part) for part in torget], env, port, ROOT):
            access_token = issue_one(port, backend)
            bodies = token_bodies(backend, args.assertions)  # now: they expire in 5 minutes
            tokens = measure(
                port, "Torget `POST /oauth/token` (client_credentials, ES384 assertion)",
                "POST", "/oauth/token", args=args, scratch=scratch, bodies=bodies, single_use=True,
            )  # fmt: skip
            introspections = measure(
                port, "Torget `POST /oauth/introspect` (operator API token)",
                "POST", "/oauth/introspect", args=args, scratch=scratch, headers=operator,
                bodies=[urlencode({"token": access_token})],
            )  # fmt: skip
        floor = [str(BIN / "gunicorn"), "--workers", str(args.workers)]
        floor += ["--bind", f"127.0.0.1:{floor_port}", "bare_flask:app"]
        with serve(floor, os.environ.copy(), floor_port, ROOT / "bench"):
            bare = measure(floor_port, "bare Flask `GET /`", "GET", "/", args=args, scratch=scratch)
            es256 = measure(
                floor_port, "Flask signing one ES256 JWT `POST /sign/ES256`",
                "POST", "/sign/ES256", args=args, scratch=scratch,
            )  # fmt: skip
            rs256 = measure(
                floor_port, "Flask signing one RS256 JWT `POST /sign/RS256`",
                "POST", "/sign/RS256", args=args, scratch=scratch,
            )  # fmt: skip

    database_kind = os.environ.get("DATABASE_URL", "sqlite").split(":")[0]
    driver = "wrk" if shutil.which("wrk") else "Python threads"
    print(
        f"gunicorn {args.workers} sync workers, {driver}, {args.connections} connections, "
        f"{args.seconds} s per endpoint, database={database_kind}\n"
    )
    print("| Endpoint | req/s | p50 ms | p99 ms | errors | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print(row(tokens, f"{tokens.per_second / es256.per_second:.2f} of the ES256 floor"))
    print(row(introspections, f"{introspections.per_second / bare.per_second:.2f} of bare GET"))
    print(row(bare))
    print(row(es256, f"{es256.per_second / bare.per_second:.2f} of bare GET"))
    print(row(rs256, f"{rs256.per_second / bare.per_second:.2f} of bare GET"))


if __name__ == "__main__":
    main()
