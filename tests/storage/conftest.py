"""Fixtures of the storage tests: moto's S3 server as a real subprocess, and apps that store media in it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a moto S3 server started for this session (`python -m moto.server`)."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto's S3 server did not start (see {log.name})")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@dataclass
class S3Place:
    endpoint: str
    bucket: str
    prefix: str
    client: Any  # a boto3 S3 client, to look at the bucket from outside lynkflow

    @property
    def storage_url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def keys(self, under: str = "") -> list[str]:
        """Relative names (prefix removed) of the objects below `under`."""
        full = f"{self.prefix}/{under}"
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            found += [o["Key"][len(self.prefix) + 1:] for o in page.get("Contents", [])]
        return sorted(found)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Place:
    """A fresh bucket on the moto server, with the AWS_* variables a user would set."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "lynkflow-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lynkflow-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # The machine's own AWS profile (if any) must not leak in.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"lynkflow-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Place(s3_endpoint, bucket, "media-store", client)


@pytest.fixture
def s3_client(make_client: Callable[..., Any], s3: S3Place) -> Any:
    """An app (one in-process worker) whose media lives in the S3 bucket."""
    return make_client(inproc_workers=1, storage_url=s3.storage_url, s3_endpoint_url=s3.endpoint)
