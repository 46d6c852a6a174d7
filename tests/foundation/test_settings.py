"""Settings parsing: defaults, environment values, and clear errors for bad values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lynkflow.config import SettingsError, load_settings


def test_defaults_make_run_work(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LYNKFLOW_DATA_DIR", "LYNKFLOW_DATABASE_URL", "LYNKFLOW_SIGNATURE_MODE"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings()
    assert s.signature_mode.value == "strict"
    assert s.timestamp_skew == 300
    assert s.inproc_workers == 1
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.resolved_database_url.endswith("var/lynkflow.db")
    assert len(s.uplynk_owner) == 32
    # Above httpx's 5 s idle expiry: the client, not the server, closes an idle connection first.
    assert s.keep_alive > 5


def test_environment_values_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("LYNKFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LYNKFLOW_SIGNATURE_MODE", "lenient")
    monkeypatch.setenv("LYNKFLOW_TIMESTAMP_SKEW", "60")
    monkeypatch.setenv("LYNKFLOW_PUBLIC_URL", "http://lynkflow:8080/")
    monkeypatch.setenv("LYNKFLOW_DATABASE_URL", "postgresql://u@h:5432/db")
    s = load_settings()
    assert s.resolved_data_dir == tmp_path.resolve()
    assert s.signature_mode.value == "lenient"
    assert s.timestamp_skew == 60
    assert s.public_url == "http://lynkflow:8080"
    assert s.resolved_database_url == "postgresql+psycopg://u@h:5432/db"


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("LYNKFLOW_SIGNATURE_MODE", "sloppy", "LYNKFLOW_SIGNATURE_MODE"),
        ("LYNKFLOW_TIMESTAMP_SKEW", "soon", "LYNKFLOW_TIMESTAMP_SKEW"),
        ("LYNKFLOW_TIMESTAMP_SKEW", "-5", "greater than or equal"),
        ("LYNKFLOW_INPROC_WORKERS", "many", "LYNKFLOW_INPROC_WORKERS"),
        ("LYNKFLOW_UPLYNK_OWNER", "not-an-owner", "32 lowercase hex"),
        ("LYNKFLOW_PUBLIC_URL", "lynkflow:8080", "http://"),
        ("LYNKFLOW_DATABASE_URL", "mysql://x", "sqlite:/// or postgresql://"),
        ("LYNKFLOW_UPLYNK_API_KEY", "   ", "must not be empty"),
        ("LYNKFLOW_KEEP_ALIVE", "0", "greater than or equal"),
        ("LYNKFLOW_STORAGE_URL", "/srv/media", "s3://bucket"),
        ("LYNKFLOW_STORAGE_URL", "s3://No_Such", "s3://bucket"),
        ("LYNKFLOW_S3_ENDPOINT_URL", "minio:9000", "http://"),
        ("LYNKFLOW_STORAGE_CACHE_MB", "1", "greater than or equal"),
        ("LYNKFLOW_JOB_LEASE", "soon", "LYNKFLOW_JOB_LEASE"),
        ("LYNKFLOW_JOB_LEASE", "0", "greater than"),
        ("LYNKFLOW_HOUSEKEEPING_INTERVAL", "-1", "greater than"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str, fragment: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert fragment in str(info.value)
    assert var in str(info.value)


@pytest.mark.parametrize(("var", "value", "command"), [
    ("LYNKFLOW_SIGNATURE_MODE", "sloppy", "migrate"),
    # Read at import time by the worker module once: a traceback instead of this line.
    ("LYNKFLOW_JOB_LEASE", "soon", "worker"),
])
def test_bad_value_stops_the_command_with_one_clear_line(tmp_path, var: str, value: str, command: str) -> None:
    env = {var: value, "LYNKFLOW_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "lynkflow.cli", command], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert var in proc.stderr
    assert "Traceback" not in proc.stderr
