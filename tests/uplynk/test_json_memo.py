"""The memo of decoded JSON column texts behind the DB-API reads stays bounded."""

from __future__ import annotations

import pytest

from lynkflow.domain import uplynk_asset_reads as reads


def test_json_memo_is_bounded_and_skips_long_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reads, "_JSON_MEMO", {})
    monkeypatch.setattr(reads, "_JSON_MEMO_ENTRIES", 3)
    first = reads._decoded_json('{"genre":"news"}')
    assert first == {"genre": "news"}
    assert reads._decoded_json('{"genre":"news"}') is first  # decoded once
    for i in range(10):
        assert reads._decoded_json(f"[{i}]") == [i]
        assert len(reads._JSON_MEMO) <= 3
    long_text = '"' + "x" * reads._JSON_MEMO_TEXT_MAX + '"'
    assert reads._decoded_json(long_text) == "x" * reads._JSON_MEMO_TEXT_MAX
    assert long_text not in reads._JSON_MEMO
    assert reads._decoded_json("null") is None and "null" in reads._JSON_MEMO
