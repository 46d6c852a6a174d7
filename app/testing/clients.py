"""HTTP clients for tests: a signed Uplynk api2 client, a VIS client and the control-plane client.

All three speak to a running lynkflow (or, for the API clients, to anything with the same wire
dialect) over httpx. Keyword arguments that start with `_` steer the client itself and are never
sent as api2 parameters (api2 parameters never start with `_` except the signed `_owner` and
`_timestamp`, which the client adds).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from lynkflow.testing.signing import Signer

FAULT_HEADER = "X-Lynkflow-Fault"


class ControlError(RuntimeError):
    """A control-plane call that lynkflow refused; `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error") if isinstance(body, dict) else str(body)
        super().__init__(f"lynkflow control plane answered {status}: {message}")
        self.status = status
        self.body = body


class UplynkClient:
    """Signed api2 calls: `client.call("/api2/asset/get", id=asset_id)` → the decoded JSON answer."""

    def __init__(self, base_url: str, owner: str, api_key: str, *, timeout: float = 30.0,
                 method: str = "POST", transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.owner = owner
        self.api_key = api_key
        self.method = method.upper()
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self.signer = Signer(owner, api_key)

    def raw(self, path: str, *, _method: str | None = None, _headers: dict[str, str] | None = None,
            _timestamp: int | None = None, _fault: str | None = None, **params: Any) -> httpx.Response:
        data = self.signer(params, _timestamp)
        headers = dict(_headers or {})
        if _fault:
            headers[FAULT_HEADER] = _fault
        if (_method or self.method).upper() == "GET":
            return self.http.get(path, params=data, headers=headers)
        return self.http.post(path, data=data, headers=headers)

    def call(self, path: str, **params: Any) -> dict[str, Any]:
        """Signed call; returns the JSON body (api2 answers errors as HTTP 200 with `error: 1`)."""
        resp = self.raw(path, **params)
        resp.raise_for_status()
        return resp.json()

    def close(self) -> None:
        self.http.close()


class VisClient:
    """VIS calls with the API-KEY header: `client.get("/api/event/")`, `client.post(path, json=...)`."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, headers={"API-KEY": api_key},
                                 transport=transport)

    def request(self, method: str, path: str, *, fault: str | None = None, **kwargs: Any) -> httpx.Response:
        if fault:
            kwargs["headers"] = {**kwargs.get("headers", {}), FAULT_HEADER: fault}
        return self.http.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.http.close()


class ControlClient:
    """The /_lynkflow control plane: reset, seed, clock, lifecycles, faults, journal, jobs, snapshots.

    Bound to a tenant (`tenant=` its id, as the pytest plugin does for each test), the calls that
    change or read test state act on that tenant alone: `reset` empties it, the clock and lifecycle
    calls use its own, fault rules apply to its requests only, and the journal shows its requests.
    """

    def __init__(self, base_url: str, admin_token: str | None = None, *, timeout: float = 60.0,
                 tenant: str | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self.http = httpx.Client(base_url=self.base_url + "/_lynkflow", timeout=timeout, headers=headers,
                                 transport=transport)

    def _scoped(self, path: str) -> str:
        """A tenant's own route for `path` (clock, lifecycles) when bound to one."""
        return f"/tenants/{self.tenant}{path}" if self.tenant else path

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.http.request(method, path, **kwargs)
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        if resp.status_code >= 400:
            raise ControlError(resp.status_code, body)
        return body

    # --- state -----------------------------------------------------------------------------------

    def ready(self) -> bool:
        return self.http.get("/ready").status_code == 200

    def reset(self, *, owner: str | None = None, vis_key: str | None = None) -> dict[str, Any]:
        """Everything (data and controls) by default; or one Uplynk owner's / one VIS key's data.
        Bound to a tenant: that tenant's data and controls."""
        if self.tenant and not owner and not vis_key:
            return self._call("POST", f"/tenants/{self.tenant}/reset")
        body: dict[str, Any] = {}
        if owner:
            body["owner"] = owner
        if vis_key:
            body["visKey"] = vis_key
        return self._call("POST", "/reset", json=body)

    def seed(self, document: dict[str, Any] | None = None, *, path: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/seed", json=document if path is None else {"path": path})

    def reseed(self, document: dict[str, Any] | None = None, *, path: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/reseed", json=document if path is None else {"path": path})

    def export_snapshot(self, path: Path) -> Path:
        with self.http.stream("GET", "/snapshot") as resp:
            if resp.status_code >= 400:
                resp.read()
                raise ControlError(resp.status_code, resp.json())
            with Path(path).open("wb") as out:
                for chunk in resp.iter_bytes():
                    out.write(chunk)
        return Path(path)

    def import_snapshot(self, path: Path) -> dict[str, Any]:
        with Path(path).open("rb") as f:
            return self._call("POST", "/snapshot", content=f.read(),
                              headers={"Content-Type": "application/gzip"})

    def ingest(self, file: Path, *, target: str = "uplynk", wait: bool = True, timeout: float = 120.0,
               **fields: Any) -> dict[str, Any]:
        """Upload a media file and ingest it (target uplynk, vis or both); by default wait for its job.

        Extra fields: owner, external_id, desc, meta (JSON text), event_title, vuflow_id, event_id.
        """
        if self.tenant:
            fields.setdefault("tenant", self.tenant)
        with Path(file).open("rb") as f:
            started = self._call("POST", "/ingest", files={"file": (Path(file).name, f)},
                                 data={"target": target, **{k: str(v) for k, v in fields.items()}})
        if wait:
            started["job"] = self.wait_for_job(started["job"]["id"], ("done", "failed", "cancelled"), timeout)
        return started

    # --- clock -----------------------------------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        return self._call("GET", self._scoped("/clock"))

    def freeze(self, at: int | str | None = None) -> dict[str, Any]:
        return self._call("POST", self._scoped("/clock/freeze"), json={} if at is None else {"at": at})

    def set_clock(self, at: int | str) -> dict[str, Any]:
        return self._call("POST", self._scoped("/clock/set"), json={"at": at})

    def advance(self, seconds: float = 0.0, *, ms: int = 0) -> dict[str, Any]:
        return self._call("POST", self._scoped("/clock/advance"), json={"seconds": seconds, "ms": ms})

    def resume(self) -> dict[str, Any]:
        return self._call("POST", self._scoped("/clock/resume"))

    # --- lifecycles and jobs ------------------------------------------------------------------------

    def lifecycles(self) -> dict[str, Any]:
        return self._call("GET", self._scoped("/lifecycles"))

    def set_lifecycle(self, group: str, mode: str, seconds: float = 0.0) -> dict[str, Any]:
        return self._call("PUT", self._scoped(f"/lifecycles/{group}"), json={"mode": mode, "seconds": seconds})

    def set_lifecycles(self, policies: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return self._call("PUT", self._scoped("/lifecycles"), json=policies)

    def jobs(self, *, state: str | None = None, kind: str | None = None, limit: int = 100,
             offset: int = 0) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if state:
            params["state"] = state
        if kind:
            params["kind"] = kind
        if self.tenant:  # the jobs this tenant's requests and ingests enqueued
            params["tenant"] = self.tenant
        return self._call("GET", "/jobs", params=params)["jobs"]

    def job(self, job_id: int) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}")

    def complete_job(self, job_id: int) -> dict[str, Any]:
        return self._call("POST", f"/jobs/{job_id}/complete")

    def fail_job(self, job_id: int, error: str = "failed by the test") -> dict[str, Any]:
        return self._call("POST", f"/jobs/{job_id}/fail", json={"error": error})

    def cancel_job(self, job_id: int) -> dict[str, Any]:
        return self._call("POST", f"/jobs/{job_id}/cancel")

    def wait_for_job(self, job_id: int, states: tuple[str, ...] = ("done", "failed", "cancelled", "held"),
                     timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] in states:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s (wanted {states})")
            time.sleep(0.05)

    # --- faults ----------------------------------------------------------------------------------

    def faults(self) -> list[dict[str, Any]]:
        found = self._call("GET", "/faults")["faults"]
        return [f for f in found if f.get("tenant") == self.tenant] if self.tenant else found

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """e.g. add_fault(api="uplynk", route="/api2/asset/get", action="error", count=2)."""
        if self.tenant:
            rule.setdefault("tenant", self.tenant)
        return self._call("POST", "/faults", json=rule)

    def delete_fault(self, rule_id: str) -> None:
        self._call("DELETE", f"/faults/{rule_id}")

    def clear_faults(self) -> None:
        if self.tenant:  # only this tenant's rules
            for rule in self.faults():
                self.delete_fault(rule["id"])
            return
        self._call("DELETE", "/faults")

    # --- stubs -----------------------------------------------------------------------------------

    def add_stub(self, api: str, route: str, body: Any, **spec: Any) -> dict[str, Any]:
        """A canned answer, e.g. add_stub("uplynk", "/api2/asset/get", {"asset": {...}},
        params={"id": asset_id}, count=1); bound to a tenant, for its requests only."""
        if self.tenant:
            spec.setdefault("tenant", self.tenant)
        return self._call("POST", "/stubs", json={"api": api, "route": route, "body": body, **spec})

    def stubs(self) -> list[dict[str, Any]]:
        return self._call("GET", "/stubs", params={"tenant": self.tenant} if self.tenant else {})["stubs"]

    def delete_stub(self, stub_id: str) -> None:
        self._call("DELETE", f"/stubs/{stub_id}")

    def clear_stubs(self) -> None:
        self._call("DELETE", "/stubs", params={"tenant": self.tenant} if self.tenant else {})

    # --- journal ---------------------------------------------------------------------------------

    def _filters(self, filters: dict[str, Any]) -> dict[str, Any]:
        if self.tenant:
            filters = {"tenant": self.tenant, **filters}
        return {k: v for k, v in filters.items() if v is not None}

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Filters: api, route (exact or glob), method, status (404 or "4xx"), since, until, limit."""
        return self._call("GET", "/journal", params=self._filters(filters))["entries"]

    def journal_count(self, **filters: Any) -> int:
        return self._call("GET", "/journal/count", params=self._filters(filters))["count"]

    def clear_journal(self) -> None:
        self._call("DELETE", self._scoped("/journal"))

    def wait_for_requests(self, count: int, *, timeout: float = 10.0, **filters: Any) -> list[dict[str, Any]]:
        """Block until at least `count` journaled requests match; returns them (raises on timeout)."""
        body = {"count": count, "timeout": timeout, **self._filters(filters)}
        return self._call("POST", "/journal/wait", json=body)["entries"]

    def verify(self, **spec: Any) -> dict[str, Any]:
        """POST /journal/verify: route, method, api, status, signature, params (name: value or
        {"equals"|"contains"|"regex": ...}), count ({"exactly": N} or {"at_least": N})."""
        return self._call("POST", "/journal/verify", json=self._filters(spec))

    def assert_called(self, route: str | None = None, *, times: int | None = None, at_least: int | None = None,
                      **spec: Any) -> list[dict[str, Any]]:
        """Assert that matching requests were journaled (default: at least once); returns them.

        e.g. `control.assert_called("/api2/asset/get", params={"id": asset_id}, times=1)`. On a miss
        the AssertionError shows the closest entries and what differed in each.
        """
        if times is not None and at_least is not None:
            raise ValueError("give times or at_least, not both")
        count = {"exactly": times} if times is not None else {"at_least": 1 if at_least is None else at_least}
        result = self.verify(route=route, count=count, **spec)
        if not result["ok"]:
            want = f"exactly {times}" if times is not None else f"at least {count['at_least']}"
            lines = [f"expected {want} request(s) matching {dict(route=route, **spec)}, found {result['count']}"]
            for entry in result["closest"]:
                lines.append(f"  closest: #{entry.get('id')} {entry.get('method')} {entry.get('route')} "
                             f"-> {entry.get('status')}: {'; '.join(entry.get('mismatches', []))}")
            raise AssertionError("\n".join(lines))
        return result["matched"]

    # --- tenants ---------------------------------------------------------------------------------

    def create_tenant(self, name: str = "") -> dict[str, Any]:
        """A fresh isolated tenant: {"id", "uplynk": {"owner", "apiKey"}, "vis": {"apiKey", "vuflowId"}, ...}."""
        return self._call("POST", "/tenants", json={"name": name} if name else {})

    def tenants(self) -> list[dict[str, Any]]:
        return self._call("GET", "/tenants")["tenants"]

    def delete_tenant(self, tenant_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/tenants/{tenant_id}")

    # --- Uplynk signature -------------------------------------------------------------------------

    def explain(self, msg: str, sig: str) -> dict[str, Any]:
        return self._call("POST", "/uplynk/explain", json={"msg": msg, "sig": sig})

    def close(self) -> None:
        self.http.close()
