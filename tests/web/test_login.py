"""With LYNKFLOW_ADMIN_TOKEN set, the dashboard asks for it; players, playback and files do not."""

from __future__ import annotations

import pytest

from tests.conftest import UplynkCaller
from tests.web.conftest import Rows

TOKEN = "s3cret-admin"


@pytest.fixture
def guarded(make_client):
    return make_client(admin_token=TOKEN)


def _secrets(client) -> list[str]:
    s = client.app.state.ctx.settings
    return [s.uplynk_api_key, s.vuflow_api_key]


def _pages(client) -> list[str]:
    rows = Rows(client.app.state.ctx)
    event = rows.event(title="guarded event")
    return ["/", "/dashboard/assets", "/dashboard/events", f"/dashboard/events/{event.id}",
            f"/dashboard/events/{event.id}/assets", "/dashboard/jobs", "/dashboard/journal",
            "/dashboard/journal?api=uplynk"]


def test_every_dashboard_page_asks_for_the_token(guarded) -> None:
    s = guarded.app.state.ctx.settings
    # Another caller's signed request, whose decoded parameters the journal page would show.
    UplynkCaller(guarded, s.uplynk_owner, s.uplynk_api_key)("/api2/asset/list", search="private-words")
    for page in _pages(guarded):
        r = guarded.get(page, follow_redirects=False)
        assert r.status_code == 303, page
        assert r.headers["location"].startswith("/dashboard/login?next=%2F"), page
        assert not any(secret in r.text for secret in _secrets(guarded)), page
        assert "private-words" not in r.text
    r = guarded.get("/dashboard/jobs.json")
    assert r.status_code == 401 and "/dashboard/login" in r.json()["detail"]
    # A wrong cookie or header is no better than none.
    guarded.cookies.set("lynkflow_dashboard", "0" * 64)
    assert guarded.get("/", follow_redirects=False).status_code == 303
    assert guarded.get("/", headers={"Authorization": "Bearer wrong"}, follow_redirects=False).status_code == 303


def test_login_sets_an_http_only_cookie_that_opens_the_dashboard(guarded) -> None:
    form = guarded.get("/dashboard/login?next=%2Fdashboard%2Fjournal")
    assert form.status_code == 200 and 'name="token"' in form.text and 'value="/dashboard/journal"' in form.text
    assert not any(secret in form.text for secret in _secrets(guarded))

    wrong = guarded.post("/dashboard/login", data={"token": "nope", "next": "/"}, follow_redirects=False)
    assert wrong.status_code == 403 and 'id="login-error"' in wrong.text and "admin token" in wrong.text
    assert "set-cookie" not in wrong.headers

    ok = guarded.post("/dashboard/login", data={"token": TOKEN, "next": "/dashboard/journal"},
                      follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboard/journal"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
    for page in _pages(guarded):
        assert guarded.get(page, follow_redirects=False).status_code == 200, page
    assert guarded.get("/dashboard/jobs.json").status_code == 200
    assert all(secret in guarded.get("/").text for secret in _secrets(guarded))

    out = guarded.post("/dashboard/logout", follow_redirects=False)
    assert out.status_code == 303
    assert guarded.get("/", follow_redirects=False).status_code == 303


def test_scripts_may_send_the_token_as_to_the_control_plane(guarded) -> None:
    for headers in ({"Authorization": f"Bearer {TOKEN}"}, {"X-Lynkflow-Admin-Token": TOKEN}):
        r = guarded.get("/dashboard/jobs.json", headers=headers)
        assert r.status_code == 200 and "jobs" in r.json()
        assert guarded.get("/dashboard/journal", headers=headers).status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", ""])
def test_login_never_redirects_off_site(guarded, target: str) -> None:
    r = guarded.post("/dashboard/login", data={"token": TOKEN, "next": target}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_urls_api_clients_receive_work_without_the_cookie(guarded) -> None:
    rows = Rows(guarded.app.state.ctx)
    media = rows.media(thumbs=1)
    asset = rows.asset(media=media)
    player = rows.player_of(asset)
    assert guarded.get(f"/player5/{player}.html").status_code == 200
    assert guarded.get(f"/player5/{asset.embed_player_id}.html").status_code == 200
    thumb = guarded.get(f"/storage/{media.output_dir}/thumbs/00000.png")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert guarded.get("/dashboard/static/app.css").status_code == 200
    s = guarded.app.state.ctx.settings
    out = UplynkCaller(guarded, s.uplynk_owner, s.uplynk_api_key)("/api2/asset/get", id=asset.id)
    assert out["error"] == 0 and out["asset"]["test_player_url"].endswith(f"/player5/{player}.html")
    assert guarded.get("/api/event/", headers={"API-KEY": s.vuflow_api_key}).status_code == 200


def test_without_a_token_the_dashboard_is_open(client) -> None:
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get("/dashboard/login").status_code == 200
