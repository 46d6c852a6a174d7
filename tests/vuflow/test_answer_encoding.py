"""VIS answers are encoded byte for byte as FastAPI's default JSON answer would encode them: compact,
UTF-8 (not \\u escapes), Python's number formats (`1e+16`, `1e-07`), keys in the order rendered."""

from __future__ import annotations

import json

EXTRA = {"additionalStreamingOptions": {"big": 2**62, "tiny": 1e-7, "huge": 1e16, "tenth": 0.1, "none": None,
                                        "text": "Zürich ☃ \u2028 \"q\" </script>", "list": [1, 2.5, True]},
         "tags": ["ünï", "news"], "drmJson": "{\"a\": 1}"}


def _default_encoding(resp) -> bytes:  # noqa: ANN001
    return json.dumps(resp.json(), ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


def test_answers_are_encoded_as_fastapi_would(client, vis_headers) -> None:
    created = client.post("/api/event/", json={"title": "Café ☕", **EXTRA}, headers=vis_headers)
    assert created.status_code == 200, created.text
    event = created.json()
    assert event["additionalStreamingOptions"] == EXTRA["additionalStreamingOptions"]
    patched = client.patch(f"/api/event/{event['id']}", json={"description": "ß"}, headers=vis_headers)
    answers = [created, patched]
    for path in (f"/api/event/{event['id']}", "/api/event/", "/api/event/?ProcessVideo=true", "/api/asset/",
                 "/api/vuflow/", "/api/event/reference/unique/?refId=nope"):
        answers.append(client.get(path, headers=vis_headers))
    for resp in answers:
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/json"
        assert resp.content == _default_encoding(resp), resp.request.url
    assert b'"huge":1e+16' in created.content and b'"big":4611686018427387904' in created.content
    assert "☃".encode() in created.content
