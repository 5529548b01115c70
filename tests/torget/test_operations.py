from __future__ import annotations

from tests.conftest import make_app


def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"


def test_readyz_is_ready_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    # A database file in a directory that does not exist: SQLite cannot open it.
    app = make_app(f"sqlite:///{tmp_path / 'missing' / 'torget.db'}", tmp_path)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "database" in response.get_data(as_text=True)


def test_readyz_is_503_when_redis_is_configured_but_down(fresh_database, tmp_path):
    app = make_app(fresh_database.new(), tmp_path, redis_url="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "redis" in response.get_data(as_text=True)


def test_readyz_checks_a_real_redis(fresh_database, tmp_path, redis_url):
    app = make_app(fresh_database.new(), tmp_path, redis_url=redis_url)
    assert app.test_client().get("/readyz").status_code == 200


def test_metrics_count_requests_by_endpoint_and_status(client):
    client.get("/healthz")
    client.get("/no-such-page")
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'torget_http_requests_total{endpoint="operations.healthz",method="GET",status="200"}'
        in text
    )
    assert 'endpoint="unmatched",method="GET",status="404"' in text
    assert "torget_http_request_duration_seconds_bucket" in text


def test_metrics_do_not_grow_a_label_per_invented_method(client):
    client.open("/healthz", method="BREW")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'method="BREW"' not in text
    assert 'method="OTHER"' in text
