"""Stored files: the data dir (or an S3-compatible object store), safe paths and public URLs."""

from lynkflow.config import Settings
from lynkflow.storage.paths import Storage, UnsafePath, safe_join


def open_storage(settings: Settings) -> Storage:
    """The storage the settings ask for: the data dir, or S3 with the data dir as its cache."""
    location = settings.s3_location
    if location is None:
        return Storage(settings.resolved_data_dir)
    from lynkflow.storage.s3 import S3Storage

    bucket, prefix = location
    return S3Storage(settings.resolved_data_dir, bucket=bucket, prefix=prefix, endpoint_url=settings.s3_endpoint_url,
                     cache_bytes=settings.storage_cache_mb * 1024 * 1024)


__all__ = ["Storage", "UnsafePath", "open_storage", "safe_join"]
