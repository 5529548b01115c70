from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from torget.app import create_app
from torget.config import DEFAULT_RATE_LIMITS, ConfigError, load, new_key_encryption_key

KEK = new_key_encryption_key()


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load({"TORGET_INSTANCE_PATH": str(tmp_path)})


def test_production_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="too short"):
        load({"SECRET_KEY": "short", "TORGET_INSTANCE_PATH": str(tmp_path)})


def test_development_keeps_one_generated_secret_for_every_worker(tmp_path):
    environ = {"TORGET_ENV": "development", "TORGET_INSTANCE_PATH": str(tmp_path)}
    first = load(environ)
    second = load(environ)
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert first.key_encryption_key == second.key_encryption_key
    assert first.key_encryption_key != first.secret_key
    for name in ("secret_key", "key_encryption_key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_start_without_a_key_encryption_key(tmp_path):
    environ = {"SECRET_KEY": "x" * 40, "TORGET_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError, match="TORGET_KEY_ENCRYPTION_KEY is not set"):
        load(environ)
    for bad in ("short", "x" * 44, "not base64 at all!"):
        with pytest.raises(ConfigError, match="urlsafe base64 of 32 bytes"):
            load({**environ, "TORGET_KEY_ENCRYPTION_KEY": bad})


def test_defaults_are_the_embedded_sqlite_database_under_instance(tmp_path):
    config = load(
        {
            "SECRET_KEY": "x" * 40,
            "TORGET_KEY_ENCRYPTION_KEY": KEK,
            "TORGET_INSTANCE_PATH": str(tmp_path),
        }
    )
    assert config.database_url == f"sqlite:///{tmp_path / 'torget.db'}"
    assert config.base_url == "http://127.0.0.1:5000"
    assert config.log_level == "INFO"
    assert config.demo is False
    assert config.redis_url == ""
    assert config.upload_dir == str(tmp_path / "uploads")
    assert config.sandbox_tenant == "sandkasse"


def test_every_variable_is_read(tmp_path):
    config = load(
        {
            "TORGET_ENV": "production",
            "SECRET_KEY": "s" * 40,
            "DATABASE_URL": "postgresql+psycopg://db/torget",
            "TORGET_BASE_URL": "https://torget.example/",
            "REDIS_URL": "redis://cache:6379/0",
            "LOG_LEVEL": "debug",
            "TORGET_DEMO": "true",
            "TORGET_INSTANCE_PATH": str(tmp_path),
            "TORGET_MAX_BODY_BYTES": "2048",
            "TORGET_SESSION_IDLE_MINUTES": "15",
            "TORGET_SESSION_MAX_HOURS": "8",
            "TORGET_LOGIN_MAX_FAILURES": "3",
            "TORGET_UPLOAD_DIR": "/srv/torget/uploads",
            "TORGET_SANDBOX_TENANT": "testkommune",
            "TORGET_KEY_ENCRYPTION_KEY": KEK,
            "TORGET_RATE_LIMITS": "login=3/10",
            "TORGET_PROXY_HOPS": "1",
        }
    )
    assert config.database_url == "postgresql+psycopg://db/torget"
    assert config.base_url == "https://torget.example"
    assert config.secure_cookies is True
    assert config.redis_url == "redis://cache:6379/0"
    assert config.log_level == "DEBUG"
    assert config.demo is True
    assert (config.max_body_bytes, config.session_idle_minutes) == (2048, 15)
    assert (config.session_max_hours, config.login_max_failures) == (8, 3)
    assert config.upload_dir == "/srv/torget/uploads"
    assert config.sandbox_tenant == "testkommune"
    assert config.key_encryption_key == KEK
    assert config.rate_limits == {**DEFAULT_RATE_LIMITS, "login": (3, 10)}
    assert config.proxy_hops == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TORGET_ENV", "staging"),
        ("TORGET_BASE_URL", "torget.example"),
        ("LOG_LEVEL", "LOUD"),
        ("TORGET_DEMO", "maybe"),
        ("TORGET_MAX_BODY_BYTES", "-1"),
        ("TORGET_SESSION_IDLE_MINUTES", "ten"),
        ("TORGET_PROXY_HOPS", "-1"),
        ("TORGET_PROXY_HOPS", "one"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path, variable, value):
    environ = {
        "SECRET_KEY": "x" * 40,
        "TORGET_KEY_ENCRYPTION_KEY": KEK,
        "TORGET_INSTANCE_PATH": str(tmp_path),
        variable: value,
    }
    with pytest.raises(ConfigError, match=variable):
        load(environ)


def test_rate_limits_default_and_override_by_name(tmp_path):
    environ = {
        "SECRET_KEY": "x" * 40,
        "TORGET_KEY_ENCRYPTION_KEY": KEK,
        "TORGET_INSTANCE_PATH": str(tmp_path),
    }
    assert load(environ).rate_limits == DEFAULT_RATE_LIMITS
    assert DEFAULT_RATE_LIMITS["login"] == (10, 60)
    config = load({**environ, "TORGET_RATE_LIMITS": " login = 3/10 , token=1000/3600,"})
    assert config.rate_limits == {
        **DEFAULT_RATE_LIMITS,
        "login": (3, 10),
        "token": (1000, 3600),
    }


@pytest.mark.parametrize("value", ["off", "OFF", " Off "])
def test_rate_limits_off(tmp_path, value):
    config = load(
        {
            "SECRET_KEY": "x" * 40,
            "TORGET_KEY_ENCRYPTION_KEY": KEK,
            "TORGET_INSTANCE_PATH": str(tmp_path),
            "TORGET_RATE_LIMITS": value,
        }
    )
    assert config.rate_limits is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("login", "expected off or name=requests/seconds items, got 'login'"),
        ("login=10", "got 'login=10'"),
        ("login=ten/60", "got 'login=ten/60'"),
        ("login=-1/60", "got 'login=-1/60'"),
        ("login=10/1.5", "got 'login=10/1.5'"),
        ("login=0/60", "requests must be at least 1"),
        ("login=10/0", "seconds between 1 and 3600"),
        ("login=10/3601", "seconds between 1 and 3600"),
        ("logn=10/60", "unknown rate limit 'logn' \\(known: token, authorize, login,"),
        ("login=10/60,login=20/60", "rate limit 'login' is given twice"),
        ("disabled", "got 'disabled'"),
    ],
)
def test_a_bad_rate_limit_is_named(tmp_path, value, message):
    environ = {
        "SECRET_KEY": "x" * 40,
        "TORGET_KEY_ENCRYPTION_KEY": KEK,
        "TORGET_INSTANCE_PATH": str(tmp_path),
        "TORGET_RATE_LIMITS": value,
    }
    with pytest.raises(ConfigError, match=f"^TORGET_RATE_LIMITS: .*{message}"):
        load(environ)


PLATFORM = {
    "SECRET_KEY": "x" * 40,
    "TORGET_KEY_ENCRYPTION_KEY": KEK,
    "FHIR_UPSTREAM_URL": "https://platform.example/fhir/{tenant}",
    "FHIR_UPSTREAM_TOKEN_URL": "https://platform.example/oauth/token",
    "FHIR_UPSTREAM_CLIENT_ID": "torget-gateway",
    "FHIR_UPSTREAM_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----",
    "FHIR_UPSTREAM_KEY_ID": "gateway-1",
}


def test_the_gateways_own_platform_credential_is_read(tmp_path):
    config = load({**PLATFORM, "TORGET_INSTANCE_PATH": str(tmp_path)})
    assert config.fhir_upstream_token_url == "https://platform.example/oauth/token"
    assert (config.fhir_upstream_client_id, config.fhir_upstream_key_id) == (
        "torget-gateway",
        "gateway-1",
    )
    assert config.fhir_upstream_scope == "system/*.cruds"
    assert "BEGIN PRIVATE KEY" not in repr(config)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"FHIR_UPSTREAM_TOKEN": "static"}, "not both"),
        ({"FHIR_UPSTREAM_CLIENT_ID": ""}, "needs FHIR_UPSTREAM_CLIENT_ID"),
        (
            {"FHIR_UPSTREAM_PRIVATE_KEY": "", "FHIR_UPSTREAM_KEY_ID": ""},
            "needs FHIR_UPSTREAM_PRIVATE_KEY, FHIR_UPSTREAM_KEY_ID",
        ),
        ({"FHIR_UPSTREAM_URL": ""}, "needs FHIR_UPSTREAM_URL"),
        ({"FHIR_UPSTREAM_TOKEN_URL": "platform.example/token"}, "FHIR_UPSTREAM_TOKEN_URL"),
    ],
)
def test_a_partial_platform_credential_is_named(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        load({**PLATFORM, "TORGET_INSTANCE_PATH": str(tmp_path), **changes})


@pytest.mark.parametrize(
    "key",
    [
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
        ec.generate_private_key(ec.SECP256R1())  # P-256: SMART asks for ES384
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode(),
    ],
    ids=["not a key", "a P-256 key"],
)
def test_a_platform_key_the_gateway_cannot_sign_with_stops_the_start(tmp_path, key):
    environ = {**PLATFORM, "TORGET_INSTANCE_PATH": str(tmp_path), "FHIR_UPSTREAM_PRIVATE_KEY": key}
    with pytest.raises(ConfigError, match="FHIR_UPSTREAM_PRIVATE_KEY"):
        create_app(environ=environ)
