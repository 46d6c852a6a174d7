"""api2 `channel/list`: live channels are not emulated, so every account has none.

Public clients call `channel/list` in their own tests and only check that the answer has a
`channels` list; an "unknown endpoint" refusal would fail them for a feature they do not use.
The answer is the documented envelope with an empty list, after the usual signature check. The
other channel operations stay unknown endpoints (docs/parity.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lynkflow.uplynk.transport import Api2Call


def list_(call: Api2Call, db: Session) -> dict[str, Any]:
    return {"channels": []}
