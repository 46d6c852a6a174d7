"""Files under the data dir: the layout, safe joining, and public URLs for stored files."""

from app.storage.paths import UnsafePath, Storage, safe_join

__all__ = ["Storage", "UnsafePath", "safe_join"]
