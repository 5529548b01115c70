"""Client keys: inline JWK Sets, and fetching a jwks_url from a real local server."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from catalog.keys import (
    MAX_DOCUMENT_BYTES,
    JwksFetcher,
    JwksUnavailable,
    validate_jwk_set,
    validate_jwks_url,
)
from torget.errors import Invalid

# --- keys, made for real with cryptography ---------------------------------------


def _b64(number: int, length: int | None = None) -> str:
    raw = number.to_bytes(length or (number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str, *, private: bool = False, **extra: object) -> dict:
    numbers = key.private_numbers()
    jwk = {"kty": "RSA", "kid": kid, "n": _b64(numbers.public_numbers.n), "e": _b64(65537)}
    if private:
        jwk |= {
            "d": _b64(numbers.d),
            "p": _b64(numbers.p),
            "q": _b64(numbers.q),
            "dp": _b64(numbers.dmp1),
            "dq": _b64(numbers.dmq1),
            "qi": _b64(numbers.iqmp),
        }
    return jwk | extra


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str, **extra: object) -> dict:
    size = (key.curve.key_size + 7) // 8
    numbers = key.public_key().public_numbers()
    crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[key.curve.name]
    jwk = {
        "kty": "EC",
        "kid": kid,
        "crv": crv,
        "x": _b64(numbers.x, size),
        "y": _b64(numbers.y, size),
    }
    return jwk | extra


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def p384() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def good_jwks(rsa_key, p384) -> dict:
    return {"keys": [rsa_jwk(rsa_key, "rsa-1", alg="RS384"), ec_jwk(p384, "ec-1", alg="ES384")]}


# --- validate_jwk_set -------------------------------------------------------------


def _key_problems(jwks: object) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as caught:
        validate_jwk_set(jwks)
    return caught.value.fields


def test_a_good_set_keeps_only_the_public_members_torget_uses(rsa_key, p256, p384):
    rsa_public = rsa_jwk(
        rsa_key, "rsa-2026", alg="RS384", use="sig", x5c=["MIIB..."], ext=True, key_ops=["verify"]
    )
    jwks = {
        "keys": [rsa_public, ec_jwk(p256, "ec-256", alg="ES256"), ec_jwk(p384, "ec-384")],
        "extra": "dropped",
    }
    result = validate_jwk_set(jwks)
    assert result["keys"][0] == {
        "kty": "RSA",
        "kid": "rsa-2026",
        "use": "sig",
        "alg": "RS384",
        "n": rsa_public["n"],
        "e": "AQAB",
    }
    assert set(result["keys"][1]) == {"kty", "kid", "alg", "crv", "x", "y"}
    assert result["keys"][2]["crv"] == "P-384"
    assert set(result) == {"keys"}


@pytest.mark.parametrize("alg", ["RS256", "RS384"])
def test_rsa_algorithms_smart_uses_are_accepted(rsa_key, alg):
    assert validate_jwk_set({"keys": [rsa_jwk(rsa_key, "k", alg=alg)]})["keys"][0]["alg"] == alg


def test_a_full_private_rsa_key_is_refused_with_a_warning(rsa_key):
    problems = _key_problems({"keys": [rsa_jwk(rsa_key, "leaked", private=True)]})
    assert "private or secret key" in problems["keys.0"][0]
    assert "Never share it" in problems["keys.0"][0]


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth"])
def test_any_single_private_member_is_refused(rsa_key, member):
    problems = _key_problems({"keys": [rsa_jwk(rsa_key, "k", **{member: "AQAB"})]})
    assert "private or secret key" in problems["keys.0"][0]


def test_a_private_ec_key_is_refused(p256):
    d = _b64(p256.private_numbers().private_value, 32)
    assert "private" in _key_problems({"keys": [ec_jwk(p256, "k", d=d)]})["keys.0"][0]


def test_a_symmetric_key_is_refused():
    secret = {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS1zZW50"}
    assert "secret key" in _key_problems({"keys": [secret]})["keys.0"][0]
    assert "RSA and EC" in _key_problems({"keys": [{"kty": "oct", "kid": "x"}]})["keys.0"][0]


def test_an_ed25519_key_is_not_accepted():
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    okp = {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": _b64(int.from_bytes(raw), 32)}
    assert "RSA and EC" in _key_problems({"keys": [okp]})["keys.0"][0]


# joserfc warns on import too; the refusal is what counts.
@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")
def test_a_weak_rsa_key_is_refused():
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused below
    assert _key_problems({"keys": [rsa_jwk(weak, "weak")]}) == {
        "keys.0": ["An RSA key has 2048 to 8192 bits."]
    }


def test_a_curve_other_than_p256_or_p384_is_refused():
    p521 = ec.generate_private_key(ec.SECP521R1())
    assert "P-256 or P-384" in _key_problems({"keys": [ec_jwk(p521, "k")]})["keys.0"][0]


def test_a_point_off_the_curve_is_not_a_key(p256):
    jwk = ec_jwk(p256, "k")
    jwk["y"] = jwk["x"]
    assert "not a valid EC public key" in _key_problems({"keys": [jwk]})["keys.0"][0]


def test_a_modulus_that_is_not_base64url_is_not_a_key(rsa_key):
    jwk = rsa_jwk(rsa_key, "k") | {"n": "not base64!"}
    assert "not a valid RSA public key" in _key_problems({"keys": [jwk]})["keys.0"][0]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"alg": "HS256"}, "Use one of the algorithms RS256, RS384, ES256, ES384"),
        ({"alg": "none"}, "Use one of the algorithms"),
        ({"alg": "ES384"}, "does not fit"),
        ({"use": "enc"}, '"use" is "sig"'),
        ({"key_ops": ["encrypt"]}, "key_ops"),
        ({"key_ops": "verify"}, "key_ops"),
        ({"key_ops": [{"op": "sign"}]}, "key_ops"),
        ({"alg": ["RS256"]}, "Use one of the algorithms"),
        ({"kty": ["RSA"]}, "RSA and EC"),
    ],
)
def test_a_key_for_another_purpose_or_algorithm_is_refused(rsa_key, extra, words):
    assert words in _key_problems({"keys": [rsa_jwk(rsa_key, "k", **extra)]})["keys.0"][0]


def test_an_es384_key_on_p256_does_not_fit(p256):
    jwk = ec_jwk(p256, "k", alg="ES384")
    assert "does not fit" in _key_problems({"keys": [jwk]})["keys.0"][0]


def test_kid_is_required_and_unique(rsa_key, p256, p384):
    no_kid = rsa_jwk(rsa_key, "") | {"kid": ""}
    problems = _key_problems(
        {"keys": [no_kid, ec_jwk(p256, "same"), ec_jwk(p384, "same"), {"kty": "RSA"}]}
    )
    assert problems == {
        "keys.0": ["Each key needs a kid (key ID)."],
        "keys.2": ["Another key in this set has the same kid."],
        "keys.3": ["Each key needs a kid (key ID)."],
    }


@pytest.mark.parametrize(
    "document",
    [None, [], "keys", {"keys": "none"}, {"kty": "RSA"}, {"keys": [{"kty": "RSA"}], "x": {1, 2}}],
)
def test_a_set_is_an_object_with_a_keys_list(document):
    with pytest.raises(Invalid) as caught:
        validate_jwk_set(document)
    assert caught.value.fields == {}
    assert "JSON object" in caught.value.detail


def test_a_set_holds_one_to_ten_keys(p256):
    assert _key_problems({"keys": []}) == {"keys": ["A key set holds 1 to 10 keys."]}
    eleven = [ec_jwk(p256, f"k{i}") for i in range(11)]
    assert _key_problems({"keys": eleven}) == {"keys": ["A key set holds 1 to 10 keys."]}
    assert len(validate_jwk_set({"keys": eleven[:10]})["keys"]) == 10


def test_a_set_over_64_kib_is_refused(rsa_key):
    padded = rsa_jwk(rsa_key, "k", x5c=["A" * MAX_DOCUMENT_BYTES])
    with pytest.raises(Invalid, match="at most 64 KiB"):
        validate_jwk_set({"keys": [padded]})


def test_a_key_that_is_not_an_object_is_reported_on_its_index(rsa_key):
    problems = _key_problems({"keys": [rsa_jwk(rsa_key, "k"), "RSA"]})
    assert problems == {"keys.1": ["Each key is a JSON object (a JWK)."]}


# --- validate_jwks_url ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://app.example/jwks.json",
        "ftp://app.example/jwks.json",
        "https://user@app.example/jwks.json",
        "https://app.example/jwks.json#keys",
        "https:///jwks.json",
        "https://app.example/jw ks.json",
        "/jwks.json",
        "https://app.example:99999/jwks.json",
        "https://" + "a" * 2000 + ".example/",
        None,
    ],
)
def test_a_jwks_url_is_an_https_address(url):
    with pytest.raises(Invalid) as caught:
        validate_jwks_url(url)  # type: ignore[arg-type]
    assert list(caught.value.fields) == ["jwks_url"]


def test_http_is_only_for_loopback_and_only_when_allowed():
    url = "http://127.0.0.1:8000/jwks.json"
    with pytest.raises(Invalid, match="https"):
        validate_jwks_url(url)
    assert validate_jwks_url(url, allow_insecure_loopback=True) == url
    with pytest.raises(Invalid, match="https"):
        validate_jwks_url("http://app.example/jwks.json", allow_insecure_loopback=True)


# --- a real HTTP server on 127.0.0.1 ----------------------------------------------


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/jwk-set+json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    trickle: float = 0.0  # seconds between body bytes
    endless: bool = False  # a body with no length that does not stop


class JwksServer:
    """A ThreadingHTTPServer serving the routes a test sets, counting each request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        # Per path: set when its last answer ended; whether the client hung up first.
        self.answered: dict[str, threading.Event] = {}
        self.hung_up: dict[str, bool] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        # A client that gave up leaves the handler writing to a closed socket.
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = self.server.server_address[1]
        # A short poll, so shutdown() takes milliseconds, not half a second.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, document: object = None, **route: object) -> str:
        body = route.pop("body", None)
        if body is None:
            body = json.dumps(document).encode()
        self.routes[path] = Route(body=body, **route)  # type: ignore[arg-type]
        self.answered[path] = threading.Event()
        return self.url(path)

    def client_hung_up(self, path: str) -> bool:
        """Whether the client closed the connection before the answer to `path` was whole.

        Waits for the answer to end: the first write after the client left fails.
        """
        assert self.answered[path].wait(timeout=30), f"the answer to {path} never ended"
        return self.hung_up.get(path, False)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits[self.path] += 1
                route = owner.routes.get(self.path, Route(status=404, body=b"not found"))
                time.sleep(route.delay)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if not route.endless:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    self._write_body(route)
                except (BrokenPipeError, ConnectionResetError):
                    owner.hung_up[self.path] = True
                finally:
                    if self.path in owner.answered:
                        owner.answered[self.path].set()

            def _write_body(self, route: Route) -> None:
                if route.endless:
                    # Bounded all the same: 50 MB at most, or until the client hangs up.
                    for _ in range(50 * 16):
                        self.wfile.write(b" " * 65536)
                elif route.trickle:
                    for byte in route.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(route.trickle)
                else:
                    self.wfile.write(route.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def server() -> Iterator[JwksServer]:
    running = JwksServer()
    yield running
    running.close()


@pytest.fixture
def fetcher() -> JwksFetcher:
    return JwksFetcher(allow_insecure_loopback=True, timeout=2.0)


def test_a_good_key_set_is_fetched_and_validated(server, fetcher, good_jwks):
    url = server.serve("/jwks.json", good_jwks)
    assert fetcher.get(url) == validate_jwk_set(good_jwks)


def test_plain_json_with_a_charset_is_accepted(server, fetcher, good_jwks):
    url = server.serve("/jwks", good_jwks, content_type="application/json; charset=utf-8")
    assert [k["kid"] for k in fetcher.get(url)["keys"]] == ["rsa-1", "ec-1"]


def test_a_set_is_cached_and_fetched_again_after_its_ttl(server, good_jwks):
    fetcher = JwksFetcher(allow_insecure_loopback=True, ttl=0.3, min_refresh_interval=0.1)
    url = server.serve("/jwks.json", good_jwks)
    fetcher.get(url)
    fetcher.get(url)
    assert server.hits["/jwks.json"] == 1
    time.sleep(0.35)
    fetcher.get(url)
    assert server.hits["/jwks.json"] == 2


def test_a_rotated_key_is_found_by_a_forced_refresh_at_most_once_per_interval(
    server, good_jwks, p256
):
    fetcher = JwksFetcher(allow_insecure_loopback=True, ttl=600, min_refresh_interval=0.3)
    url = server.serve("/jwks.json", good_jwks)
    assert [k["kid"] for k in fetcher.get(url)["keys"]] == ["rsa-1", "ec-1"]
    # The vendor rotates: a new key the cache has not seen.
    server.serve("/jwks.json", {"keys": [ec_jwk(p256, "rotated", alg="ES256")]})
    # Too soon after the first fetch: the cached set, no request.
    assert fetcher.get(url, force_refresh=True)["keys"][0]["kid"] == "rsa-1"
    assert server.hits["/jwks.json"] == 1
    time.sleep(0.35)
    assert fetcher.get(url, force_refresh=True)["keys"][0]["kid"] == "rotated"
    assert fetcher.get(url, force_refresh=True)["keys"][0]["kid"] == "rotated"
    assert server.hits["/jwks.json"] == 2


def test_a_failed_fetch_is_not_retried_within_the_interval(server):
    fetcher = JwksFetcher(allow_insecure_loopback=True, min_refresh_interval=60)
    url = server.url("/down")
    with pytest.raises(JwksUnavailable, match="HTTP 404"):
        fetcher.get(url)
    with pytest.raises(JwksUnavailable, match="a moment ago"):
        fetcher.get(url, force_refresh=True)
    assert server.hits["/down"] == 1


def test_an_oversized_document_is_refused(server, fetcher, rsa_key):
    big = {"keys": [rsa_jwk(rsa_key, "k", x5c=["A" * MAX_DOCUMENT_BYTES])]}
    url = server.serve("/big", big)
    with pytest.raises(Invalid, match="at most 64 KiB") as caught:
        fetcher.get(url)
    assert list(caught.value.fields) == ["jwks_url"]


def test_an_endless_body_is_cut_off_after_64_kib(server, fetcher):
    url = server.serve("/endless", body=b"", endless=True, content_type="application/json")
    with pytest.raises(Invalid, match="at most 64 KiB"):
        fetcher.get(url)
    # Torget stopped reading and hung up; it did not read the 50 MB to the end first.
    assert server.client_hung_up("/endless")


def test_a_slow_server_runs_into_the_timeout(server, good_jwks):
    fetcher = JwksFetcher(allow_insecure_loopback=True, timeout=0.3)
    url = server.serve("/slow", good_jwks, delay=1.0)  # the whole set, but after the timeout
    with pytest.raises(JwksUnavailable, match="did not answer in time") as caught:
        fetcher.get(url)
    assert caught.value.status == 502


def test_a_server_trickling_bytes_cannot_stretch_the_timeout(server, good_jwks):
    # Each byte comes well within the timeout; the whole body (a minute of bytes) does not.
    fetcher = JwksFetcher(allow_insecure_loopback=True, timeout=0.5)
    url = server.serve("/trickle", good_jwks, trickle=0.05)
    with pytest.raises(JwksUnavailable, match="did not answer in time"):
        fetcher.get(url)
    assert server.client_hung_up("/trickle")  # before the body was whole


def test_a_wrong_content_type_is_refused(server, fetcher, good_jwks):
    url = server.serve("/page", good_jwks, content_type="text/html")
    with pytest.raises(Invalid, match="application/json or application/jwk-set"):
        fetcher.get(url)


@pytest.mark.parametrize(
    "body", [b"<html>keys</html>", b"\xff\xfe{}", b"[" * 60_000 + b"]" * 60_000]
)
def test_a_document_that_is_not_json_is_refused(server, fetcher, body):
    url = server.serve("/garbage", body=body[: MAX_DOCUMENT_BYTES - 1])
    with pytest.raises(Invalid, match="not JSON"):
        fetcher.get(url)


def test_a_published_private_key_is_refused(server, fetcher, rsa_key):
    url = server.serve("/leak", {"keys": [rsa_jwk(rsa_key, "leak", private=True)]})
    with pytest.raises(Invalid, match="private or secret key") as caught:
        fetcher.get(url)
    assert list(caught.value.fields) == ["jwks_url"]


def test_a_document_of_the_wrong_shape_is_refused(server, fetcher):
    url = server.serve("/shape", {"kty": "RSA"})
    with pytest.raises(Invalid, match='"keys" list'):
        fetcher.get(url)


def test_a_redirect_is_never_followed(server, fetcher, good_jwks):
    other = JwksServer()
    try:
        target = other.serve("/jwks.json", good_jwks)
        url = server.serve("/moved", body=b"", status=302, headers={"Location": target})
        with pytest.raises(JwksUnavailable, match="redirects"):
            fetcher.get(url)
        assert other.hits["/jwks.json"] == 0
    finally:
        other.close()


def test_a_server_that_is_not_listening_is_unavailable(fetcher):
    closed = JwksServer()
    url = closed.url("/jwks.json")
    closed.close()
    with pytest.raises(JwksUnavailable):
        fetcher.get(url)


# --- SSRF: nothing inside Torget's own network is fetched --------------------------


def test_loopback_is_refused_unless_allowed(server, good_jwks):
    url = server.serve("/jwks.json", good_jwks).replace("http://", "https://")
    with pytest.raises(Invalid, match="private network"):
        JwksFetcher().get(url)
    for host in ("localhost", "[::1]", "[::ffff:127.0.0.1]", "127.0.0.2"):
        with pytest.raises(Invalid, match="private network"):
            JwksFetcher().get(f"https://{host}:{server.port}/jwks.json")
    assert server.hits["/jwks.json"] == 0


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - a target to refuse, not a bind
        "240.0.0.1",  # reserved
        "224.0.0.1",  # multicast
        "[fd00::1]",
        "[fe80::1]",
        "[::ffff:10.0.0.1]",
    ],
)
def test_private_link_local_and_reserved_addresses_are_refused_before_connecting(host):
    # Refused from the address alone: no packet is sent to it.
    fetcher = JwksFetcher(allow_insecure_loopback=True, timeout=0.1)
    with pytest.raises(Invalid, match="private network"):
        fetcher.get(f"https://{host}/jwks.json")


def test_an_unknown_host_is_unavailable():
    with pytest.raises(JwksUnavailable, match="not found"):
        JwksFetcher().get("https://no-such-host.invalid/jwks.json")


# --- https, with a certificate made for the test -----------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[JwksServer, Callable[[], ssl.SSLContext]]]:
    cert_path, key_path = _self_signed(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_path, key_path)
    running = JwksServer(tls=server_side)

    def trusting() -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(cert_path))

    yield running, trusting
    running.close()


def test_https_with_a_trusted_certificate_is_fetched(tls_server, good_jwks):
    server, trusting = tls_server
    server.serve("/jwks.json", good_jwks)
    fetcher = JwksFetcher(allow_insecure_loopback=True, tls=trusting())
    assert len(fetcher.get(server.url("/jwks.json", "https"))["keys"]) == 2


def test_https_with_an_untrusted_certificate_is_unavailable(tls_server, good_jwks):
    server, _trusting = tls_server
    server.serve("/jwks.json", good_jwks)
    with pytest.raises(JwksUnavailable):
        JwksFetcher(allow_insecure_loopback=True).get(server.url("/jwks.json", "https"))
