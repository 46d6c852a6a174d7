"""Files under the data dir: the layout, safe joining, and public URLs for stored files."""

from lynkflow.storage.paths import Storage, UnsafePath, safe_join

__all__ = ["Storage", "UnsafePath", "safe_join"]
