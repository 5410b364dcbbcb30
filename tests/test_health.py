"""Liveness and readiness probes."""


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok"}


def test_unknown_url_is_a_json_404(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json["code"] == 404
