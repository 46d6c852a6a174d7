"""Settings: every LYNKFLOW_* environment variable, parsed and checked in one place.

A bad value stops the service at start with one readable line per problem (see
`load_settings`), never with a traceback from deep inside.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Documented development credentials (README): fixed so a newcomer can paste them.
DEFAULT_UPLYNK_OWNER = "6e6f2d736c696365722d6f776e657231"
DEFAULT_UPLYNK_API_KEY = "lynkflow-dev-api-key-0123456789abcdef"
DEFAULT_VUFLOW_API_KEY = "00000000-1111-4222-8333-444444444444"


class SignatureMode(StrEnum):
    strict = "strict"
    lenient = "lenient"
    off = "off"


class SettingsError(Exception):
    """Raised with a human-readable list of configuration problems."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LYNKFLOW_", extra="ignore", frozen=True)

    data_dir: Path = Path("./var")
    database_url: str | None = None
    public_url: str | None = None
    uplynk_owner: str = DEFAULT_UPLYNK_OWNER
    uplynk_api_key: str = DEFAULT_UPLYNK_API_KEY
    vuflow_api_key: str = DEFAULT_VUFLOW_API_KEY
    signature_mode: SignatureMode = SignatureMode.strict
    timestamp_skew: int = Field(default=300, ge=0, le=10 * 365 * 86400)
    inproc_workers: int = Field(default=1, ge=0, le=64)
    # HTTP processes `lynkflow serve` runs on its one port (lynkflow/serve_processes.py). One by
    # default: it starts fastest and uses least memory; more pay off under load on more cores.
    workers: int = Field(default=1, ge=1, le=64)
    seed_file: Path | None = None
    ffmpeg: str | None = None
    media_dir: Path | None = None
    admin_token: str | None = None
    seed_random: int | None = None
    journal_size: int = Field(default=1000, ge=1, le=1_000_000)
    # Seconds an idle keep-alive connection stays open. Longer than the idle expiry of common
    # HTTP clients (httpx and Node close theirs after 5 s, aiohttp after 15 s), so a client always
    # retires an idle connection before the server does: a server that closes first races the
    # client's next request on that connection, which then fails with a reset (a ReadError).
    keep_alive: int = Field(default=75, ge=1, le=3600)
    # Where media lives: unset = the data dir; `s3://bucket/prefix` = an S3-compatible object store
    # (credentials from the standard AWS_* variables, the endpoint from LYNKFLOW_S3_ENDPOINT_URL).
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    # With S3 storage, the data dir is a cache of stored files (ffmpeg inputs, getframe sources):
    # trimmed, least recently used first, to this many megabytes.
    storage_cache_mb: int = Field(default=2048, ge=16, le=10_000_000)
    # Seconds a worker's job lease lasts without a heartbeat (a dead worker's job is retried after it).
    job_lease: float = Field(default=30.0, gt=0, le=86400)
    # Seconds between the workers' housekeeping ticks (delayed lifecycles, autoexpire, periodic
    # tasks). Tests shorten it so they wait for a condition, not for a fixed second.
    housekeeping_interval: float = Field(default=1.0, gt=0, le=3600)

    @field_validator("uplynk_owner")
    @classmethod
    def _owner_is_hex32(cls, v: str) -> str:
        v = v.strip().lower()
        if len(v) != 32 or any(c not in "0123456789abcdef" for c in v):
            raise ValueError("must be 32 lowercase hex characters, like an Uplynk user id")
        return v

    @field_validator("uplynk_api_key", "vuflow_api_key")
    @classmethod
    def _key_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()

    @field_validator("public_url")
    @classmethod
    def _public_url_shape(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://localhost:8080")
        return v.rstrip("/")

    @field_validator("storage_url")
    @classmethod
    def _storage_url_shape(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        bucket = v[len("s3://"):].split("/", 1)[0] if v.startswith("s3://") else ""
        # S3 bucket names: 3-63 of lowercase letters, digits, dots and hyphens.
        if not 3 <= len(bucket) <= 63 or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789.-" for c in bucket):
            raise ValueError("must be s3://bucket or s3://bucket/prefix "
                             "(leave it unset to keep media in the data dir)")
        return v.rstrip("/")

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint_shape(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://minio:9000")
        return v.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return normalise_database_url(v)

    @cached_property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'lynkflow.db'}"

    @cached_property
    def resolved_media_dir(self) -> Path:
        """The folder from which ingest-by-path and cloud-slicer file sources may read."""
        if self.media_dir is not None:
            return self.media_dir.expanduser().resolve()
        return self.resolved_data_dir / "inbox"

    @property
    def s3_location(self) -> tuple[str, str] | None:
        """(bucket, key prefix without slashes) when media lives in S3, else None."""
        if not self.storage_url:
            return None
        bucket, _, prefix = self.storage_url[len("s3://"):].partition("/")
        return bucket, prefix.strip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Accept plain postgres URLs and point them at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus overrides) or raise SettingsError listing each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "?"
            lines.append(f"LYNKFLOW_{field.upper()}: {err['msg']} (got {err.get('input')!r})")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
