"""`/api2/subowners/*`: signed requests in, api2 answers out; a subowner's key signs for its parent."""

from __future__ import annotations

import pytest

from tests.conftest import UplynkCaller
from tests.uplynk.conftest import other_owner

FIELDS = {"username", "permissions", "api_key", "all_api_keys", "id", "error"}



def _rows(client) -> list:
    from sqlalchemy import select

    from lynkflow.db.models import UplynkSubowner

    with client.app.state.ctx.session() as db:
        return list(db.scalars(select(UplynkSubowner)))


def _as_sub(client, api: UplynkCaller, sub: dict) -> UplynkCaller:
    """Sign as the subowner: the parent's user ID, the subowner's own key."""
    return UplynkCaller(client, api.owner, sub["api_key"])


def test_create_get_list_update_delete(api, client) -> None:
    made = api.ok("subowners/create", username="Acme.Jane", password="s3cret pass", permissions=["slice", "api"])
    assert set(made) == FIELDS
    assert made["username"] == "acme.jane" and made["permissions"] == ["slice", "api"]
    assert len(made["id"]) == 32 and len(made["api_key"]) == 40
    assert made["all_api_keys"] == {made["api_key"]: {"enabled": True}}
    assert "password" not in made and "s3cret" not in str(made)

    assert api.ok("subowners/get", id=made["id"]) == made
    # A comma string works as well as a list; permissions are listed slice, api.
    other = api.ok("subowners/create", username="acme.bob", password="pw", permissions="api, SLICE")
    assert other["permissions"] == ["slice", "api"]
    none = api.ok("subowners/create", username="acme.viewer", password="pw")
    assert none["permissions"] == [] and none["all_api_keys"] == {none["api_key"]: {"enabled": False}}
    listed = api.ok("subowners/list")
    assert set(listed) == {"subowners", "error"}
    assert [s["username"] for s in listed["subowners"]] == ["acme.jane", "acme.bob", "acme.viewer"]
    assert listed["subowners"][0] == {k: v for k, v in made.items() if k != "error"}

    # Only a salted hash is stored, and it verifies the password.
    from lynkflow.domain.uplynk_subowners import verify_password

    row = next(r for r in _rows(client) if r.id == made["id"])
    assert row.password_hash.startswith("scrypt$") and "s3cret" not in row.password_hash
    assert verify_password("s3cret pass", row.password_hash) and not verify_password("other", row.password_hash)

    # update: password and permissions; nothing given changes nothing.
    up = api.ok("subowners/update", id=made["id"], password="new pass", permissions="slice")
    assert up["permissions"] == ["slice"] and up["api_key"] == made["api_key"]
    assert up["all_api_keys"] == {made["api_key"]: {"enabled": False}}  # without `api` it signs nothing
    row = next(r for r in _rows(client) if r.id == made["id"])
    assert verify_password("new pass", row.password_hash)
    assert api.ok("subowners/update", id=made["id"]) == up
    assert api.ok("subowners/update", id=made["id"], permissions="")["permissions"] == []

    # newkey rotates: a fresh key, the old one listed disabled.
    api.ok("subowners/update", id=made["id"], permissions=["api"])
    rotated = api.ok("subowners/update", id=made["id"], newkey=1)
    assert rotated["api_key"] != made["api_key"] and len(rotated["api_key"]) == 40
    assert rotated["all_api_keys"] == {rotated["api_key"]: {"enabled": True}, made["api_key"]: {"enabled": False}}
    assert api.ok("subowners/update", id=made["id"], newkey="0")["api_key"] == rotated["api_key"]

    assert api.ok("subowners/delete", id=made["id"]) == {"id": made["id"], "error": 0}
    assert "Subowner not found" in api.err("subowners/get", id=made["id"])
    assert "Subowner not found" in api.err("subowners/delete", id=made["id"])
    assert [s["username"] for s in api.ok("subowners/list")["subowners"]] == ["acme.bob", "acme.viewer"]
    # The name is free again once its subowner is gone.
    api.ok("subowners/create", username="acme.jane", password="pw")


def test_subowner_key_signs_for_the_parent_until_api_is_removed_or_it_is_deleted(api, client) -> None:
    wrong = UplynkCaller(client, api.owner, "never-a-key").err("asset/list")
    assert wrong.startswith("invalid signature")
    sub = api.ok("subowners/create", username="acme.robot", password="pw", permissions="api")
    as_sub = _as_sub(client, api, sub)
    as_sub.ok("asset/list")  # at once, for the parent account
    # It acts for the parent: what it creates is the parent's.
    made = as_sub.ok("library/create", desc="By the subowner")["library"]
    assert made["owner"] == api.owner
    assert api.ok("library/get", id=made["id"])["library"]["desc"] == "By the subowner"
    # With `api` it can manage subowners (and create further ones) for the parent.
    child = as_sub.ok("subowners/create", username="acme.child", password="pw", permissions="slice")
    assert child["id"] in [s["id"] for s in api.ok("subowners/list")["subowners"]]
    # Its key is not a key of another account.
    other = other_owner(client)
    assert UplynkCaller(client, other.owner, sub["api_key"]).err("asset/list") == wrong.replace(api.owner, other.owner)

    # Removing `api` stops it on the very next request; giving it back restores it.
    api.ok("subowners/update", id=sub["id"], permissions="slice")
    assert as_sub.err("asset/list") == wrong
    api.ok("subowners/update", id=sub["id"], permissions="slice,api")
    as_sub.ok("asset/list")

    # A rotated key stops at once; the new one works at once.
    new = api.ok("subowners/update", id=sub["id"], newkey=True)
    assert as_sub.err("asset/list") == wrong
    as_new = _as_sub(client, api, new)
    as_new.ok("asset/list")

    # Deleted: refused at once; the account's own key carries on.
    api.ok("subowners/delete", id=sub["id"])
    assert as_new.err("asset/list") == wrong
    api.ok("asset/list")


def test_refusals(api, client) -> None:
    sub = api.ok("subowners/create", username="acme.jane", password="pw", permissions="api")
    msg = api.err("subowners/create", username="jane@example.com", password="pw")
    assert "looks like an email address" in msg and "prefix.name" in msg
    assert "with a dot between your prefix and the name" in api.err("subowners/create", username="jane", password="p")
    for bad in ("acme.", ".jane", "ac me.jane", "acme.ja/ne", "é.jane", "acme.jane."):
        assert "is not a valid prefix.name" in api.err("subowners/create", username=bad, password="pw"), bad
    assert "at most 100 characters" in api.err("subowners/create", username="a." + "b" * 100, password="pw")
    assert "missing required parameter username" in api.err("subowners/create", password="pw")
    assert "missing required parameter password" in api.err("subowners/create", username="acme.x")
    assert "password must not be blank" in api.err("subowners/create", username="acme.x", password="   ")
    msg = api.err("subowners/create", username="acme.x", password="pw", permissions=["slice", "admin"])
    assert "unknown permission(s) 'admin'" in msg and "subset of slice, api" in msg
    assert "permissions must be a list" in api.err("subowners/create", username="acme.x", password="pw",
                                                   permissions={"api": 1})
    # The name is taken, in any case, and also for another account.
    assert "'acme.jane' is already taken" in api.err("subowners/create", username="ACME.Jane", password="pw")
    other = other_owner(client)
    assert "already taken" in other.err("subowners/create", username="acme.jane", password="pw")

    assert "missing required parameter id" in api.err("subowners/get")
    assert "missing required parameter id" in api.err("subowners/update", permissions="api")
    assert "missing required parameter id" in api.err("subowners/delete")
    assert "Subowner not found (id " + "0" * 32 in api.err("subowners/get", id="0" * 32)
    # Another account's subowner is "not found", and none of its calls change it.
    assert "Subowner not found" in other.err("subowners/get", id=sub["id"])
    assert "Subowner not found" in other.err("subowners/update", id=sub["id"], permissions="")
    assert "Subowner not found" in other.err("subowners/delete", id=sub["id"])
    assert other.ok("subowners/list")["subowners"] == []

    # A bad parameter in update writes nothing, even where other parameters were good.
    assert "unknown permission(s) 'root'" in api.err("subowners/update", id=sub["id"], password="new",
                                                     permissions="root")
    assert "newkey must be true or false" in api.err("subowners/update", id=sub["id"], permissions="", newkey="x")
    assert api.ok("subowners/get", id=sub["id"]) == sub
    from lynkflow.domain.uplynk_subowners import verify_password

    assert verify_password("pw", _rows(client)[0].password_hash)
    assert len(_rows(client)) == 1


@pytest.mark.parametrize("value", [None, True, 1.5, -3, [], {}, [[1]], {"a": [1]}, "x" * 5000, " ", "é\u2028"])
def test_odd_values_get_api2_refusals_not_internal_errors(api, value) -> None:
    sub = api.ok("subowners/create", username="acme.odd", password="pw")["id"]
    calls = [("subowners/create", {"username": value, "password": "pw"}),
             ("subowners/create", {"username": "acme.new", "password": value}),
             ("subowners/create", {"username": "acme.new2", "password": "pw", "permissions": value}),
             ("subowners/get", {"id": value}), ("subowners/delete", {"id": value}),
             ("subowners/update", {"id": sub, "password": value}),
             ("subowners/update", {"id": sub, "permissions": value}),
             ("subowners/update", {"id": sub, "newkey": value})]
    for op, params in calls:
        out = api(op, **params)
        assert out["error"] in (0, 1), (op, params, out)
        assert "internal error" not in out.get("msg", ""), (op, params, out)
    assert api.ok("subowners/get", id=sub)["username"] == "acme.odd"


def test_owner_reset_keeps_subowners_and_snapshot_carries_them(api, client, tmp_path) -> None:
    from lynkflow.domain.reset import reset_uplynk_owner
    from lynkflow.domain.snapshot import table_rows

    sub = api.ok("subowners/create", username="acme.keep", password="pw", permissions="api")
    ctx = client.app.state.ctx
    reset_uplynk_owner(ctx, api.owner)  # like the owner's API keys, its logins stay
    _as_sub(client, api, sub).ok("asset/list")
    rows = table_rows(ctx)["uplynk_subowners"]
    assert [r["username"] for r in rows] == ["acme.keep"]
    assert "pw" not in {r["password_hash"] for r in rows}
