"""The database schema as SQLAlchemy models.

The schema itself exists only through the Alembic migrations in `lynkflow.migrations`; these models
mirror it for queries. Times are integers in milliseconds from the lynkflow clock (Uplynk speaks
ms natively; VIS dates are formatted from them on the way out). JSON columns hold documents the
faces render as they are (asset meta, probe data, job payloads).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# --- housekeeping --------------------------------------------------------------------------


class KeyValue(Base):
    """Small service facts, e.g. whether the seed has been applied."""

    __tablename__ = "lynkflow_kv"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ControlState(Base):
    """One JSON document of shared control-plane state; the `_version` row counts changes."""

    __tablename__ = "control_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    doc: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ControlFault(Base):
    """A fault rule; `remaining` counts down atomically as it fires (null = no limit)."""

    __tablename__ = "control_faults"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    doc: Mapped[str] = mapped_column(Text)
    remaining: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    hits: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ControlReplay(Base):
    """A signed api2 request (hash of its canonical msg and sig), remembered until `expires_ms`."""

    __tablename__ = "control_replay"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class ControlJournal(Base):
    """One journaled API request; `n` counts requests since the last reset (the `_journal` counter)."""

    __tablename__ = "control_journal"
    n: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time_ms: Mapped[int] = mapped_column(BigInteger)
    api: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[int] = mapped_column(Integer)
    doc: Mapped[str] = mapped_column(Text)


class ControlStub(Base):
    """A response stub (lynkflow/control/stubs.py): its spec, hits, and the answers it has left."""

    __tablename__ = "control_stubs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    doc: Mapped[str] = mapped_column(Text)
    remaining: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    hits: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ControlTenant(Base):
    """An isolated tenant for parallel tests: its own Uplynk owner and VIS key (lynkflow/tenancy.py)."""

    __tablename__ = "control_tenants"
    __table_args__ = (UniqueConstraint("owner_id", name="uq_control_tenants_owner"),
                      UniqueConstraint("vis_key", name="uq_control_tenants_vis_key"))
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    owner_id: Mapped[str] = mapped_column(String(32))
    vis_key: Mapped[str] = mapped_column(String(100))
    vuflow_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created: Mapped[int] = mapped_column(BigInteger)


# --- media ---------------------------------------------------------------------------------


class Media(Base):
    """A stored source file, its probe data and (once ingested) its renditions."""

    __tablename__ = "media"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    original_filename: Mapped[str] = mapped_column(String(500))
    source_path: Mapped[str] = mapped_column(String(1000))  # relative to the data dir
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|processing|ready|error
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    probe: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    output_dir: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # relative
    renditions: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # ingest result
    recording_start_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)


# --- jobs ----------------------------------------------------------------------------------


class Job(Base):
    """The durable queue: priority 1 (highest) .. 10, FIFO within a priority by id."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=5)
    # queued | running | held | done | failed | cancelled
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires: Mapped[float | None] = mapped_column(Float, nullable=True)  # real epoch seconds
    run_after: Mapped[float] = mapped_column(Float, default=0.0)  # real epoch seconds (retry backoff)
    release_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # lifecycle hold
    created: Mapped[int] = mapped_column(BigInteger)
    started: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finished: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_jobs_claim", "state", "priority", "id"),)


# --- Uplynk --------------------------------------------------------------------------------


class UplynkOwner(Base):
    __tablename__ = "uplynk_owners"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    studio_drm: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[int] = mapped_column(BigInteger)


class UplynkApiKey(Base):
    __tablename__ = "uplynk_api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("uplynk_owners.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[int] = mapped_column(BigInteger)


class UplynkAsset(Base):
    __tablename__ = "uplynk_assets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("uplynk_owners.id", ondelete="CASCADE"))
    media_id: Mapped[str | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"), nullable=True)
    external_id: Mapped[str] = mapped_column(String(200), default="")
    desc: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[str] = mapped_column(String(40), default="slicing")
    job_type: Mapped[str] = mapped_column(String(20), default="vod")
    source: Mapped[str] = mapped_column(String(20), default="file")  # clip|event|file|live|rts
    orig_filename: Mapped[str | None] = mapped_column(String(500), nullable=True)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    rays: Mapped[int] = mapped_column(Integer, default=0)
    slices: Mapped[int] = mapped_column(Integer, default=0)
    audio_only: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    break_offsets: Mapped[list] = mapped_column(JSON, default=list)
    poster_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # uploaded poster
    embed_player_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    autoexpire: Mapped[int] = mapped_column(BigInteger, default=0)
    require_drm: Mapped[int] = mapped_column(Integer, default=0)
    require_studio_drm: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[int] = mapped_column(BigInteger)
    lastmod: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        Index("ix_uplynk_assets_owner_created", "owner_id", "created"),
        Index("ix_uplynk_assets_owner_external", "owner_id", "external_id"),
        Index("ix_uplynk_assets_autoexpire", "autoexpire"),
        # Covering for asset/list: a candidate ID from the term index is checked (owner, deleted)
        # and sorted (created) without reading its table row (migration 0008_asset_search_cover).
        Index("ix_uplynk_assets_search_cover", "id", "owner_id", "deleted", "created"),
    )


class UplynkAssetTerm(Base):
    """Search index: one row per (asset, field, lower-cased word) for the asset/list query language."""

    __tablename__ = "uplynk_asset_terms"
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("uplynk_assets.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(100), primary_key=True)  # name|id|external|meta|meta:<Field>
    term: Mapped[str] = mapped_column(String(200), primary_key=True)

    # Covering (asset_id included): a search reads IDs from the index alone (migration 0002_uplynk).
    __table_args__ = (Index("ix_uplynk_asset_terms_term_asset", "term", "field", "asset_id"),)


class UplynkTestPlayer(Base):
    __tablename__ = "uplynk_test_players"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("uplynk_assets.id", ondelete="CASCADE"), index=True)
    desc: Mapped[str] = mapped_column(String(200), default="Test Player")
    created: Mapped[int] = mapped_column(BigInteger)


class UplynkLibrary(Base):
    __tablename__ = "uplynk_libraries"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("uplynk_owners.id", ondelete="CASCADE"), index=True)
    desc: Mapped[str] = mapped_column(String(500), default="")
    created: Mapped[int] = mapped_column(BigInteger)
    lastmod: Mapped[int] = mapped_column(BigInteger)


class UplynkLibraryAsset(Base):
    __tablename__ = "uplynk_library_assets"
    library_id: Mapped[str] = mapped_column(
        ForeignKey("uplynk_libraries.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("uplynk_assets.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UplynkLibraryShare(Base):
    __tablename__ = "uplynk_library_shares"
    library_id: Mapped[str] = mapped_column(
        ForeignKey("uplynk_libraries.id", ondelete="CASCADE"), primary_key=True
    )
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("uplynk_owners.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UplynkChange(Base):
    """The asset change log read by asset/changes."""

    __tablename__ = "uplynk_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(String(32))
    asset_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(20))  # update|delete
    at_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_uplynk_changes_owner_at", "owner_id", "at_ms"),)


class UplynkSlicerJob(Base):
    """A cloud-slicer job as api2 shows it; the work itself runs as a row in `jobs`."""

    __tablename__ = "uplynk_slicer_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("uplynk_owners.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # create|export|quickclip
    state: Mapped[str] = mapped_column(String(20), default="waiting")
    source: Mapped[dict] = mapped_column(JSON, default=dict)
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    asset_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    queue_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_start: Mapped[int] = mapped_column(BigInteger, default=0)
    finished: Mapped[int] = mapped_column(BigInteger, default=0)
    progress: Mapped[str] = mapped_column(String(200), default="")
    export_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created: Mapped[int] = mapped_column(BigInteger)


class UplynkSubowner(Base):
    """A subowner login of an account (api2 subowners/*). Its current `api_key` signs requests for the
    parent account (`_owner` = the parent) while `perm_api` is set; rotated keys stay listed, disabled."""

    __tablename__ = "uplynk_subowners"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("uplynk_owners.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(100))  # prefix.name, lower-cased; unique across accounts
    password_hash: Mapped[str] = mapped_column(String(300))  # scrypt$n$r$p$salt$hash, never the password
    perm_slice: Mapped[bool] = mapped_column(Boolean, default=False)
    perm_api: Mapped[bool] = mapped_column(Boolean, default=False)
    api_key: Mapped[str] = mapped_column(String(200))
    old_api_keys: Mapped[list] = mapped_column(JSON, default=list)  # newest first, never sign again
    created: Mapped[int] = mapped_column(BigInteger)
    lastmod: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("username", name="uq_uplynk_subowners_username"),)


# --- Vuflow / VIS --------------------------------------------------------------------------


class VisApiKey(Base):
    __tablename__ = "vis_api_keys"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created: Mapped[int] = mapped_column(BigInteger)


class VisVuflow(Base):
    __tablename__ = "vis_vuflows"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_key: Mapped[str] = mapped_column(ForeignKey("vis_api_keys.key", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500), default="")
    configuration_json: Mapped[str] = mapped_column(Text, default="{}")
    created: Mapped[int] = mapped_column(BigInteger)
    modified: Mapped[int] = mapped_column(BigInteger)


class VisEvent(Base):
    __tablename__ = "vis_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_key: Mapped[str] = mapped_column(ForeignKey("vis_api_keys.key", ondelete="CASCADE"), index=True)
    vuflow_id: Mapped[str | None] = mapped_column(
        ForeignKey("vis_vuflows.id", ondelete="SET NULL"), nullable=True
    )
    media_id: Mapped[str | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"), nullable=True)
    title: Mapped[str] = mapped_column(String(1000), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    content_id: Mapped[str] = mapped_column(String(100), default="")
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ref_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state: Mapped[int] = mapped_column(Integer, default=8)  # PRE_VOD
    mp4_state: Mapped[int] = mapped_column(Integer, default=0)  # NONE
    vod_folder: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # relative to vis root
    vod_file: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # relative to vis root
    extra: Mapped[dict] = mapped_column(JSON, default=dict)  # other documented event fields
    created: Mapped[int] = mapped_column(BigInteger)
    modified: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class VisAsset(Base):
    __tablename__ = "vis_assets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("vis_events.id", ondelete="CASCADE"), index=True)
    api_key: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(1000))
    path: Mapped[str] = mapped_column(String(1000))  # relative to the vis storage root
    extension: Mapped[str] = mapped_column(String(20))
    state: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    content_id: Mapped[str] = mapped_column(String(100), default="")
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created: Mapped[int] = mapped_column(BigInteger)
    modified: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("event_id", "path", name="uq_vis_assets_event_path"),
        Index("ix_vis_assets_key_created", "api_key", "created"),
    )
