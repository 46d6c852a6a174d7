"""The asset/list query language: parser units, and a table of queries run through signed HTTP
requests against a fixed corpus, each checked against the expected assets and the reference
evaluator."""

from __future__ import annotations

import pytest

from lynkflow.uplynk import query as q

CORPUS = {
    "A1": dict(desc="Basketball Convention 2023", external_id="ma-001",
               meta={"class": "image", "My First Field": "Just Another Value"}, source="file"),
    "A2": dict(desc="2022 basketball convention recap", external_id="ma-002", meta={"class": "video"},
               source="event"),
    "A3": dict(desc="League basketball game", external_id="league_7", meta={"genre": "sports"}, source="live"),
    "A4": dict(desc="Blue sky casket", external_id="xy-blue", meta={}, source="clip"),
    "A5": dict(desc="Purple blue baskets", external_id="mango", meta={"class": "image", "note": "blue"},
               source="file"),
    "A6": dict(desc="News at nine", external_id="news-9", meta={"genre": "news"}, source="rts"),
    "A7": dict(desc="conference keynote", external_id="conf", meta={"class": "image"}, source="file"),
    "A8": dict(desc="Blue Marlin", external_id="marlin-8", meta={"count": 7}, source="file"),
}
ALL = set(CORPUS)

TABLE = [
    ("basketball", {"A1", "A2", "A3"}),
    ("BASKETBALL", {"A1", "A2", "A3"}),
    ("basket", set()),
    ("basket*", {"A1", "A2", "A3", "A5"}),
    ("*asket*", {"A1", "A2", "A3", "A4", "A5"}),
    ("bl*e", {"A4", "A5", "A8"}),  # "b*e" also matched the random hex ID of 1 asset in 256 (IDs are words too)
    ('"basketball convention"', {"A1", "A2"}),
    ('"basketball convention" -2022', {"A1"}),
    ('-"basketball convention"', ALL - {"A1", "A2"}),
    ('"casket sky"', set()),
    ('name:"sky casket"', {"A4"}),
    ('+league +"basketball game"', {"A3"}),
    ("blue", {"A4", "A5", "A8"}),
    ("name: blue", {"A4", "A5", "A8"}),
    ("name:blue", {"A4", "A5", "A8"}),
    ("+blue -purple", {"A4", "A8"}),
    ("-blue", ALL - {"A4", "A5", "A8"}),
    ("keynote nine", {"A6", "A7"}),
    ("2023", {"A1"}),
    ("mango", {"A5"}),
    ("news", {"A6"}),
    ("news*", {"A6"}),
    ("external: ma*", {"A1", "A2", "A5", "A8"}),
    ("external: ma*, name: +blue -purple", {"A8"}),
    ("external:league_7", {"A3"}),
    ("external: blue", {"A4"}),
    ("meta:image", {"A1", "A5", "A7"}),
    ("meta:sports", {"A3"}),
    ("meta:7", {"A8"}),
    ("meta:class=image", {"A1", "A5", "A7"}),
    ("meta:class=video", {"A2"}),
    ("meta:Class=image", set()),
    ("meta: My First Field=Just Another Value", {"A1"}),
    ("meta: My First Field=Another Just", set()),
    ("conference, meta: image", {"A7"}),
    ("+basketball, source: +event", {"A2"}),
    ("source:live", {"A3"}),
    ("source: file", {"A1", "A5", "A7", "A8"}),
    ("source: file, -blue", {"A1", "A7"}),
    ("nothing-matches-this", set()),
    ("100% literal_under", set()),
    # Phrases through the index's word pairs: exact pairs, longer phrases, wildcards, exclusions.
    ('"convention basketball"', set()),  # both words common, never in this order
    ('"2022 basketball convention"', {"A2"}),
    ('"basketball convention 2023"', {"A1"}),
    ('"basketball convention recap 2023"', set()),
    ('"bas* convention"', {"A1", "A2"}),
    ('"blue *"', {"A4", "A5", "A8"}),
    ('-"sky casket"', ALL - {"A4"}),
    ('-"2022 basketball convention"', ALL - {"A2"}),
    ('+"blue sky" -"purple blue"', {"A4"}),
    ('meta:"another value"', {"A1"}),
    ('"blue marlin", external: marlin*', {"A8"}),
    ('"at nine" "blue sky"', {"A4", "A6"}),
]


@pytest.fixture
def corpus(asset_factory) -> dict[str, str]:
    return {label: asset_factory(created=1_000_000 + i, **fields) for i, (label, fields) in enumerate(CORPUS.items())}


def test_query_table(api, corpus) -> None:
    by_id = {v: k for k, v in corpus.items()}
    assert len(TABLE) >= 25
    failures = []
    for text, expected in TABLE:
        out = api.ok("asset/list", query=text)
        got = {by_id[a["id"]] for a in out["assets"]}
        parsed = q.parse(text)
        reference = {label for label, f in CORPUS.items()
                     if q.matches(parsed, desc=f["desc"], asset_id=corpus[label], external_id=f["external_id"],
                                  meta=f["meta"], source=f["source"])}
        if got != expected or reference != expected:
            failures.append((text, sorted(expected), sorted(got), sorted(reference)))
    assert not failures, failures


def test_id_scope_and_id_words(api, corpus) -> None:
    a6 = corpus["A6"]
    assert [a["id"] for a in api.ok("asset/list", query=f"id:{a6}")["assets"]] == [a6]
    assert [a["id"] for a in api.ok("asset/list", query=f"id: {a6[:10]}*")["assets"]] == [a6]
    assert [a["id"] for a in api.ok("asset/list", query=a6)["assets"]] == [a6]  # unscoped covers the ID


def test_query_respects_order_limit_skip(api, corpus) -> None:
    descs = [a["desc"] for a in api.ok("asset/list", query="*asket*", order="desc")["assets"]]
    assert descs == sorted(descs)
    page = api.ok("asset/list", query='"basketball convention"', order="created", limit=1, skip=1)["assets"]
    assert [a["id"] for a in page] == [corpus["A2"]]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [('"open phrase', "unmatched double quote"), ("name:", "needs a word"), ("meta: =x", "field name"),
     ("x" * 3000, "at most 2000")],
)
def test_query_errors(api, text: str, fragment: str) -> None:
    assert fragment in api.err("asset/list", query=text)


def test_parser_units() -> None:
    parsed = q.parse('external: ma*, name: +blue -purple "a b"')
    assert [c.scope for c in parsed.criteria] == ["external", "name"]
    name = parsed.criteria[1]
    assert [(t.words, t.op) for t in name.terms] == [(("blue",), "+"), (("purple",), "-"), (("a", "b"), "")]
    assert q.parse("meta: My Field=Some Value").criteria[0].scope == "meta:My Field"
    assert q.parse("meta: My Field=Some Value").criteria[0].terms[0].words == ("some", "value")
    assert q.parse("basket-ball").criteria[0].terms[0].words == ("basket", "ball")  # a hyphenated word is a phrase
    assert q.parse("  ,  ").criteria == ()


def test_list_probes_candidate_sets_once_for_own_and_shared(api, client, corpus) -> None:
    """The driver's candidate-size probes are not per owner: one round serves both pages."""
    from sqlalchemy import event

    engine = client.app.state.ctx.engine
    probes: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if "uplynk_asset_terms" in statement and "count(" in statement.lower():
            probes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        shared = api.ok("asset/list", query="+basketball +convention")
        alone = len(probes)
        probes.clear()
        own_only = api.ok("asset/list", query="+basketball +convention", ignore_shared_libraries=1)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert "shared_assets" in shared and "shared_assets" not in own_only
    assert {a["id"] for a in shared["assets"]} == {a["id"] for a in own_only["assets"]} == {corpus["A1"], corpus["A2"]}
    assert alone == len(probes) == 2  # one probe per candidate set (two required words), not per page


def test_a_list_built_once_answers_each_owner_page_and_search_alone(client, api) -> None:
    """asset/list statements are built once per distinct list and reused (lynkflow.uplynk.assets):
    the same query from another owner, for another page or with another search must each be
    answered from their own parameters, never from an earlier caller's."""
    from tests.uplynk.conftest import OTHER_OWNER, make_asset, other_owner

    ctx = client.app.state.ctx
    mine = [make_asset(ctx, desc=f"harbour {word}", created=1000 + i)
            for i, word in enumerate(["dawn", "noon", "dusk"])]
    other = other_owner(client)
    theirs = make_asset(ctx, owner=OTHER_OWNER, desc="harbour dawn", created=2000)

    def ids(caller, **params) -> list[str]:  # noqa: ANN001
        return [a["id"] for a in caller.ok("asset/list", query="harbour", **params)["assets"]]

    newest_first = mine[::-1]
    assert ids(api) == newest_first
    assert ids(other) == [theirs]
    assert ids(api) == newest_first
    assert [ids(api, limit=1, skip=s)[0] for s in range(3)] == newest_first
    assert ids(api, limit=2, skip=2) == newest_first[2:]
    assert ids(api, search="noon") == [mine[1]]
    assert ids(api, search="dusk") == [mine[2]]
    assert ids(api, order="created") == mine


def test_own_and_shared_pages_are_one_statement(client, api, monkeypatch) -> None:
    """Own and shared pages are one statement together (each page's IDs sorted in a subquery, rows
    joined in), and a page whose renderings are cached reads nothing more: the statement count does
    not grow with the page."""
    from contextlib import contextmanager

    from sqlalchemy import event

    from lynkflow.db import engine as db_engine
    from lynkflow.domain import uplynk_asset_reads
    from tests.uplynk.conftest import make_asset

    ctx = client.app.state.ctx
    for i in range(5):
        make_asset(ctx, desc=f"lighthouse {i}", created=1000 + i)
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if "uplynk_assets" in statement or "uplynk_test_players" in statement:
            statements.append(statement)

    class NotingCursor:
        """The pages run on a DB-API cursor, where SQLAlchemy's events do not see them."""

        def __init__(self, cur) -> None:  # noqa: ANN001
            self.cur = cur

        def execute(self, sql, params):  # noqa: ANN001, ANN202
            note(None, None, sql, params, None, False)
            return self.cur.execute(sql, params)

        def __getattr__(self, name):  # noqa: ANN001, ANN204
            return getattr(self.cur, name)

    @contextmanager
    def noting_cursor(engine):  # noqa: ANN001, ANN202
        with db_engine.autocommit_cursor(engine) as cur:
            yield NotingCursor(cur)

    assert len(api.ok("asset/list", query="lighthouse", limit=5)["assets"]) == 5  # renderings cached
    with ctx.engine.begin() as conn:  # a commit to an asset (the same values): the answer is read again
        conn.exec_driver_sql("UPDATE uplynk_assets SET lastmod = lastmod")
    monkeypatch.setattr(uplynk_asset_reads, "autocommit_cursor", noting_cursor)
    event.listen(ctx.engine, "before_cursor_execute", note)
    try:
        listed = api.ok("asset/list", query="lighthouse", limit=5)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", note)
    assert [a["desc"] for a in listed["assets"]] == [f"lighthouse {i}" for i in range(4, -1, -1)]
    assert listed["shared_assets"] == []
    assert len(statements) == 1, statements


def test_own_and_shared_pages_of_one_statement_are_each_paged_and_ordered(client, api) -> None:
    """The own and shared pages come from one statement: each is paged (limit, skip) and ordered on its
    own, and each row lands in its own list, whatever the two sets' sizes and interleaved dates."""
    from lynkflow.domain import uplynk_libraries as libraries
    from tests.uplynk.conftest import make_asset, other_owner

    ctx = client.app.state.ctx
    other = other_owner(client).owner
    mine = [make_asset(ctx, desc=f"quay {i}", created=1000 + 2 * i) for i in range(4)]
    theirs = [make_asset(ctx, owner=other, desc=f"quay {i}", created=1001 + 2 * i) for i in range(3)]
    with ctx.session() as db:
        lib = libraries.create_library(db, ctx, other, "Quays")
        libraries.add_to_library(db, ctx, lib.id, theirs)
        libraries.share_library(db, lib.id, api.owner)

    def pages(**params) -> tuple[list[str], list[str]]:  # noqa: ANN003
        out = api.ok("asset/list", query="quay", **params)
        return [a["id"] for a in out["assets"]], [a["id"] for a in out["shared_assets"]]

    assert pages() == (mine[::-1], theirs[::-1])
    assert pages(limit=2, skip=1) == (mine[::-1][1:3], theirs[::-1][1:3])
    assert pages(limit=2, skip=3) == (mine[::-1][3:], [])
    assert pages(order="created", limit=3) == (mine[:3], theirs)
    assert pages(order="-desc,created", limit=1, skip=1) == ([mine[2]], [theirs[1]])


def test_a_list_page_makes_no_session(client, api) -> None:
    """A list whose query needs no probing never makes its read Session (the dispatcher's is lazy):
    making, committing and closing an unused one cost ~0.1 ms of a ~1 ms list."""
    from sqlalchemy import event

    from tests.uplynk.conftest import make_asset

    ctx = client.app.state.ctx
    for i in range(3):
        make_asset(ctx, desc=f"beacon {i}", created=1000 + i)
    assert len(api.ok("asset/list", query="beacon")["assets"]) == 3  # renderings cached
    made: list[object] = []

    def note(session, transaction) -> None:  # noqa: ANN001 - SQLAlchemy's event arguments
        made.append(session)

    # A Session's first transaction is made on its first use, commit included (autobegin).
    event.listen(ctx.read_sessions, "after_transaction_create", note)
    try:
        listed = api.ok("asset/list", query="beacon", limit=2)
    finally:
        event.remove(ctx.read_sessions, "after_transaction_create", note)
    assert [a["desc"] for a in listed["assets"]] == ["beacon 2", "beacon 1"]
    assert made == []


def test_a_list_page_begins_no_transaction(client, api) -> None:
    """A list whose query needs no probing reads its pages as autocommit statements: the request's
    read session never begins a transaction (no BEGIN, no ROLLBACK around two SELECTs)."""
    from sqlalchemy import event

    from tests.uplynk.conftest import make_asset

    ctx = client.app.state.ctx
    for i in range(3):
        make_asset(ctx, desc=f"lantern {i}", created=1000 + i)
    assert len(api.ok("asset/list", query="lantern")["assets"]) == 3  # renderings cached
    begins: list[object] = []

    def note(conn) -> None:  # noqa: ANN001 - SQLAlchemy Connection
        begins.append(conn)

    event.listen(ctx.engine, "begin", note)
    try:
        listed = api.ok("asset/list", query="lantern", limit=2, skip=1)
    finally:
        event.remove(ctx.engine, "begin", note)
    assert [a["desc"] for a in listed["assets"]] == ["lantern 1", "lantern 0"]
    assert listed["shared_assets"] == []
    assert begins == []


def test_a_list_page_holds_quotes_backslashes_and_percent_signs_of_its_values(client, api) -> None:
    """A list page's values are written into its SQL text (domain/uplynk_asset_reads.PageReads):
    a quote, a backslash or a percent sign in the search, a meta field's name or a term stays that
    character, matching exactly what it should and breaking nothing."""
    from tests.uplynk.conftest import make_asset

    ctx = client.app.state.ctx
    odd = make_asset(ctx, desc="it's 50% o'clock \\ back", meta={"it's": "harbour", "50%": "quay"}, created=1000)
    plain = make_asset(ctx, desc="its 50 oclock back", meta={"its": "harbour"}, created=1001)

    def ids(**params) -> list[str]:  # noqa: ANN003
        return [a["id"] for a in api.ok("asset/list", **params)["assets"]]

    assert ids(query="back") == [plain, odd]
    assert ids(query="back", search="it's 50% o'clock \\") == [odd]
    assert ids(query="back", search="50%") == [odd]
    assert ids(query="back", search="'; drop table uplynk_assets; --") == []
    assert ids(query="meta:it's=harbour") == [odd]
    assert ids(query="meta:its=harbour") == [plain]
    assert ids(query="meta:50%=quay") == [odd]
    assert ids(query="back", limit=1, skip=1) == [odd]
