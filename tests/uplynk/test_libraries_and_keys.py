"""`/api2/library/*` and `/api2/owners/api-key/*`: signed requests in, api2 answers out."""

from __future__ import annotations

import pytest

from tests.conftest import UplynkCaller
from tests.uplynk.conftest import make_asset, other_owner


def _library_rows(ctx) -> list:
    from lynkflow.db.models import UplynkLibraryAsset

    with ctx.session() as db:
        return sorted((r.library_id, r.asset_id) for r in db.query(UplynkLibraryAsset).all())


# --- libraries ------------------------------------------------------------------------------------


def test_create_get_list_and_rename(api, client) -> None:
    ctx = client.app.state.ctx
    ctx.clock.freeze()
    first = api.ok("library/create", desc="Sports")["library"]
    assert set(first) == {"created", "desc", "id", "lastmod", "owner", "asset_count"}
    assert first["desc"] == "Sports" and first["owner"] == api.owner and first["asset_count"] == 0
    assert len(first["id"]) == 32 and first["created"] == first["lastmod"] == ctx.clock.now_ms()
    ctx.clock.advance(5)
    second = api.ok("library/create", desc="News")["library"]

    assert api.ok("library/get", id=first["id"])["library"] == first
    got = api.ok("library/get", ids=[second["id"], "f" * 32, first["id"], second["id"]])["libraries"]
    assert [lib["id"] for lib in got] == [second["id"], first["id"]]  # request order, missing left out, once each
    assert "Library(ies) not found" in api.err("library/get", ids=["f" * 32])

    listed = api.ok("library/list")["libraries"]
    assert [lib["id"] for lib in listed] == [second["id"], first["id"]]  # newest first
    assert [lib["id"] for lib in api.ok("library/list", limit=1, skip=1)["libraries"]] == [first["id"]]
    assert api.ok("library/list", skip=5)["libraries"] == []

    ctx.clock.advance(1)
    renamed = api.ok("library/update", id=first["id"], desc="  Football  ")["library"]
    assert renamed["desc"] == "Football" and renamed["lastmod"] > first["lastmod"]
    assert renamed["created"] == first["created"]
    assert api.ok("library/get", id=first["id"])["library"] == renamed


@pytest.mark.parametrize(
    ("op", "params", "fragment"),
    [("library/create", {}, "missing required parameter desc"),
     ("library/create", {"desc": "   "}, "must not be empty"),
     ("library/create", {"desc": "x" * 501}, "at most 500"),
     ("library/create", {"desc": {"a": 1}}, "desc must be a string"),
     ("library/get", {}, "give id"),
     ("library/get", {"id": "a", "ids": ["b"]}, "not both"),
     ("library/get", {"ids": [{"x": 1}]}, "list of strings"),
     ("library/list", {"limit": 0}, "limit"),
     ("library/list", {"limit": 101}, "limit"),
     ("library/list", {"skip": -1}, "skip"),
     ("library/update", {"desc": "x"}, "missing required parameter id"),
     ("library/assets", {}, "missing required parameter id"),
     ("library/add", {"id": "f" * 32}, "give asset_id"),
     ("library/share", {"id": "f" * 32}, "missing required parameter owner")],
)
def test_library_refusals(api, op, params, fragment) -> None:
    assert fragment in api.err(op, **params)


def test_update_refusals_leave_the_library_unchanged(api) -> None:
    lib = api.ok("library/create", desc="Keep")["library"]
    assert "missing required parameter desc" in api.err("library/update", id=lib["id"])
    assert "must not be empty" in api.err("library/update", id=lib["id"], desc="")
    assert "Library not found" in api.err("library/update", id="f" * 32, desc="x")
    assert api.ok("library/get", id=lib["id"])["library"] == lib


def test_add_assets_and_remove(api, client) -> None:
    ctx = client.app.state.ctx
    ctx.clock.freeze()
    a = make_asset(ctx, desc="first", created=1_000)
    b = make_asset(ctx, desc="second", created=2_000)
    c = make_asset(ctx, desc="third", created=3_000)
    lib = api.ok("library/create", desc="Mine")["library"]
    before = {x: api.ok("asset/get", id=x)["asset"] for x in (a, b, c)}
    ctx.clock.advance(1)  # past the creations' own changes
    start = ctx.clock.now_ms()

    out = api.ok("library/add", id=lib["id"], asset_ids=[a, b, a])
    assert out["added"] == [a, b] and out["library"]["asset_count"] == 2
    assert out["library"]["lastmod"] > lib["lastmod"]
    for x in (a, b):
        now = api.ok("asset/get", id=x)["asset"]
        assert now["libraries"] == [lib["id"]] and now["lastmod"] > before[x]["lastmod"]
    assert api.ok("asset/get", id=c)["asset"] == before[c]  # untouched

    # Adding again changes nothing: no member is new, no lastmod moves.
    asset_a = api.ok("asset/get", id=a)["asset"]
    again = api.ok("library/add", id=lib["id"], asset_id=a)
    assert again["added"] == [] and again["library"]["asset_count"] == 2
    assert api.ok("asset/get", id=a)["asset"] == asset_a

    # library/assets renders exactly like asset/get (newest first).
    listed = api.ok("library/assets", id=lib["id"])["assets"]
    assert listed == [api.ok("asset/get", id=b)["asset"], api.ok("asset/get", id=a)["asset"]]
    assert [x["id"] for x in api.ok("library/assets", id=lib["id"], limit=1, skip=1)["assets"]] == [a]

    # Membership changes are reported by asset/changes.
    changed = {x[2] for x in api.ok("asset/changes", start=start)["changes"] if x[1] == "update"}
    assert changed == {a, b}

    out = api.ok("library/remove", id=lib["id"], asset_ids=f"{a},{c}")  # c was never a member
    assert out["removed"] == [a] and out["library"]["asset_count"] == 1
    assert api.ok("asset/get", id=a)["asset"]["libraries"] == []
    assert api.ok("asset/get", id=c)["asset"] == before[c]
    assert [x["id"] for x in api.ok("library/assets", id=lib["id"])["assets"]] == [b]

    # A deleted asset leaves the listing and the count.
    api.ok("asset/delete", ids=[b])
    assert api.ok("library/assets", id=lib["id"])["assets"] == []
    assert api.ok("library/get", id=lib["id"])["library"]["asset_count"] == 0


def test_unknown_or_foreign_assets_are_refused_without_a_partial_write(api, client) -> None:
    ctx = client.app.state.ctx
    other = other_owner(client)
    mine = make_asset(ctx, desc="mine")
    theirs = make_asset(ctx, owner=other.owner, desc="theirs")
    lib = api.ok("library/create", desc="Mine")["library"]
    msg = api.err("library/add", id=lib["id"], asset_ids=[mine, "0" * 32, theirs])
    assert "Asset(s) not found in your account" in msg and "0" * 32 in msg and theirs in msg
    assert mine not in msg and "nothing was changed" in msg
    assert _library_rows(ctx) == []
    api.ok("library/add", id=lib["id"], asset_ids=[mine])
    assert "0" * 32 in api.err("library/remove", id=lib["id"], asset_ids=[mine, "0" * 32])
    assert _library_rows(ctx) == [(lib["id"], mine)]
    assert "at most 1000" in api.err("library/add", id=lib["id"], asset_ids=[f"{i:032x}" for i in range(1001)])
    assert "not both" in api.err("library/add", id=lib["id"], asset_id=mine, asset_ids=[mine])


def test_another_owners_library_is_not_found(api, client) -> None:
    ctx = client.app.state.ctx
    other = other_owner(client)
    mine = make_asset(ctx, desc="mine")
    theirs = other.ok("library/create", desc="Theirs")["library"]
    lid = theirs["id"]
    assert "not found" in api.err("library/get", id=lid)
    assert "not found" in api.err("library/get", ids=[lid])
    assert "not found" in api.err("library/update", id=lid, desc="hijack")
    assert "not found" in api.err("library/assets", id=lid)
    assert "not found" in api.err("library/add", id=lid, asset_id=mine)
    assert "not found" in api.err("library/remove", id=lid, asset_id=mine)
    assert "not found" in api.err("library/share", id=lid, owner=api.owner)
    assert api.ok("library/list")["libraries"] == []
    assert other.ok("library/get", id=lid)["library"] == theirs  # untouched
    assert _library_rows(ctx) == []


def test_share_extension(api, client) -> None:
    ctx = client.app.state.ctx
    other = other_owner(client)
    mine = make_asset(ctx, desc="shared clip")
    lib = api.ok("library/create", desc="For partners")["library"]
    api.ok("library/add", id=lib["id"], asset_id=mine)
    assert "unknown owner" in api.err("library/share", id=lib["id"], owner="9" * 32)
    assert "its own owner" in api.err("library/share", id=lib["id"], owner=api.owner.upper())
    assert other.ok("asset/list")["shared_assets"] == []

    out = api.ok("library/share", id=lib["id"], owner=other.owner.upper())
    assert out["shared_with"] == [other.owner] and out["library"]["id"] == lib["id"]
    assert api.ok("library/share", id=lib["id"], owner=other.owner)["shared_with"] == [other.owner]  # idempotent
    seen = other.ok("asset/list")["shared_assets"]
    assert [x["id"] for x in seen] == [mine] and seen[0]["libraries"] == [lib["id"]]
    assert other.ok("asset/get", id=mine)["asset"]["id"] == mine
    # The library still belongs to its owner: the partner cannot read or change it as a library.
    assert "not found" in other.err("library/get", id=lib["id"])


# --- owner API keys -------------------------------------------------------------------------------


def _invalid_signature_answer(client, owner: str) -> str:
    """What a request signed with a key the owner never had gets."""
    return UplynkCaller(client, owner, "never-a-key").err("asset/list")


def test_new_key_works_at_once_and_disabled_key_is_refused_at_once(api, client) -> None:
    wrong = _invalid_signature_answer(client, api.owner)
    assert wrong.startswith("invalid signature")
    api.ok("asset/list")  # the default key is cached now

    added = api.ok("owners/api-key/add")
    assert set(added) == {"new_api_key", "new_key_id", "error"}
    assert len(added["new_key_id"]) == 32 and len(added["new_api_key"]) == 40
    new = UplynkCaller(client, api.owner, added["new_api_key"])
    new.ok("asset/list")  # signs at once
    api.ok("asset/list")  # the old key still works

    # Disable the default key using the new one: refused on its very next request.
    from lynkflow.db.models import UplynkApiKey

    with client.app.state.ctx.session() as db:
        default_id = db.query(UplynkApiKey).filter_by(secret=api.api_key).one().id
    out = new.ok("owners/api-key/toggle", key_to_toggle=default_id, is_enabled=0)
    assert out["key_id"] == default_id and out["is_enabled"] is False
    assert api.err("asset/list") == wrong

    # Enable it again (bool form): accepted at once.
    new.ok("owners/api-key/toggle", key_to_toggle=default_id, is_enabled=True)
    api.ok("asset/list")

    # Delete the new key with the default one: refused at once, and gone.
    assert api.ok("owners/api-key/delete", key_to_delete=added["new_key_id"]) == {
        "deleted_key_id": added["new_key_id"], "error": 0}
    assert new.err("asset/list") == wrong
    assert "API key not found" in api.err("owners/api-key/delete", key_to_delete=added["new_key_id"])


def test_last_enabled_key_cannot_be_disabled_or_deleted(api, client) -> None:
    from lynkflow.db.models import UplynkApiKey

    with client.app.state.ctx.session() as db:
        default_id = db.query(UplynkApiKey).filter_by(secret=api.api_key).one().id
    msg = api.err("owners/api-key/toggle", key_to_toggle=default_id, is_enabled="0")
    assert "it signed this request" in msg and "last enabled key" in msg and "owners/api-key/add" in msg
    msg = api.err("owners/api-key/delete", key_to_delete=default_id)
    assert "cannot delete" in msg and "last enabled key" in msg
    api.ok("asset/list")  # still works

    # With a second enabled key, the signing key may go, and the other one carries on.
    added = api.ok("owners/api-key/add")
    api.ok("owners/api-key/delete", key_to_delete=default_id)
    assert _invalid_signature_answer(client, api.owner) == api.err("asset/list")
    new = UplynkCaller(client, api.owner, added["new_api_key"])
    assert "last enabled key" in new.err("owners/api-key/toggle", key_to_toggle=added["new_key_id"], is_enabled=0)
    # Enabling the only key (already enabled) is harmless.
    assert new.ok("owners/api-key/toggle", key_to_toggle=added["new_key_id"], is_enabled=1)["is_enabled"] is True


def test_key_refusals(api, client) -> None:
    other = other_owner(client)
    assert "missing required parameter key_to_toggle" in api.err("owners/api-key/toggle", is_enabled=0)
    assert "missing required parameter is_enabled" in api.err("owners/api-key/toggle", key_to_toggle="x")
    assert "is_enabled must be true or false" in api.err("owners/api-key/toggle", key_to_toggle="x", is_enabled="maybe")
    assert "missing required parameter key_to_delete" in api.err("owners/api-key/delete")
    msg = api.err("owners/api-key/toggle", key_to_toggle="0" * 32, is_enabled=1)
    assert "API key not found (key_to_toggle " + "0" * 32 in msg and "new_key_id" in msg
    # The secret is not an id; another owner's key id is not found either.
    assert "API key not found" in api.err("owners/api-key/delete", key_to_delete=api.api_key)
    assert "API key not found" in api.err("owners/api-key/delete", key_to_delete="cd" * 16)
    other.ok("asset/list")  # their key is untouched


@pytest.mark.parametrize("value", [None, True, 1.5, -3, [], {}, [[1]], {"a": [1]}, "x" * 5000, " ", "é\u2028"])
def test_odd_values_get_api2_refusals_not_internal_errors(api, value) -> None:
    lib = api.ok("library/create", desc="Target")["library"]["id"]
    calls = [("library/get", {"id": value}), ("library/get", {"ids": value}), ("library/list", {"limit": value}),
             ("library/list", {"skip": value}), ("library/update", {"id": lib, "desc": value}),
             ("library/assets", {"id": value}), ("library/assets", {"id": lib, "limit": value}),
             ("library/add", {"id": lib, "asset_ids": value}), ("library/remove", {"id": lib, "asset_id": value}),
             ("library/create", {"desc": value}), ("library/share", {"id": lib, "owner": value}),
             ("owners/api-key/toggle", {"key_to_toggle": value, "is_enabled": value}),
             ("owners/api-key/delete", {"key_to_delete": value})]
    for op, params in calls:
        out = api(op, **params)
        assert out["error"] in (0, 1), (op, params, out)
        assert "internal error" not in out.get("msg", ""), (op, params, out)
    desc = api.ok("library/get", id=lib)["library"]["desc"]
    assert isinstance(desc, str) and desc.strip() and len(desc) <= 500  # numbers are accepted as text, like asset desc
