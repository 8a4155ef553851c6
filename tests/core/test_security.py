"""Headers, error pages, limits: the defaults a security review looks for first."""

from __future__ import annotations

import io

import pytest


def test_security_headers(client):
    response = client.get("/login")
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "script-src" not in headers["Content-Security-Policy"]  # 'self' only, no inline
    assert headers["Cache-Control"] == "no-store"


def test_templates_escape_user_text(client, auth, session, people):
    import factories

    item = factories.create_interaction(session, people["agent_a"],
                                        body="<script>alert('x')</script>")
    session.commit()
    auth.login("admin")
    page = client.get(f"/interactions/{item.id}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_friendly_404_page(client, auth, people):
    auth.login("agent.a")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is nothing here" in response.get_data(as_text=True)


def test_api_errors_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.is_json


def test_request_size_is_limited(app_config, people):
    from qm.app import create_app

    app = create_app({**app_config, "max_upload_mb": 1})
    client = app.test_client()
    response = client.post("/login", data={"file": (io.BytesIO(b"x" * (2 * 1024 * 1024)), "a")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "larger than this site allows" in response.get_data(as_text=True)


@pytest.fixture
def failing_app(app_config):
    from qm.app import create_app
    from qm.auth.access import public

    app = create_app({**app_config, "TESTING": False})

    @app.get("/boom")
    @public
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    return app


def test_unexpected_errors_show_no_stack_trace(failing_app, caplog):
    response = failing_app.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert "hunter2" not in page and "Traceback" not in page
    assert any("unhandled error on GET /boom" in r.message for r in caplog.records)


def test_static_assets_are_served_from_the_package(client):
    css = client.get("/static/vendor/bootstrap/bootstrap.min.css")
    js = client.get("/static/vendor/bootstrap/bootstrap.bundle.min.js")
    assert css.status_code == 200 and b"Bootstrap" in css.data[:200]
    assert js.status_code == 200
    css.close()
    js.close()
