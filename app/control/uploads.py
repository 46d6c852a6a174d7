"""Reading an upload form while it streams: the file goes straight into the data dir, once.

A framework form parser spools an uploaded file to the system temp folder (outside the data dir,
possibly another file system) before the handler sees it, and the handler then copies it again.
Here the multipart body is parsed as it arrives: the `file` part is written to a work file in the
data dir's `tmp/` (same file system as `media/`, so taking it in is a rename) and the other parts
are kept as short text fields.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from lynkflow.storage.workfiles import tmp_beside

MAX_FIELD_BYTES = 1024 * 1024  # all text fields together


class UploadError(Exception):
    """A form that cannot be read; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    file: Path | None = None  # the uploaded file, in the data dir's tmp/; the caller takes or removes it
    filename: str | None = None

    def discard(self) -> None:
        if self.file is not None:
            self.file.unlink(missing_ok=True)
            self.file = None


class _Reader:
    """The parser's callbacks: one part at a time, headers, then data."""

    def __init__(self, tmp_dir: Path, file_field: str, max_file_bytes: int) -> None:
        self.form = UploadForm()
        self._tmp_dir = tmp_dir
        self._file_field = file_field
        self._max_file_bytes = max_file_bytes
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._text: bytearray | None = None
        self._out: IO[bytes] | None = None
        self._file_bytes = 0
        self._field_bytes = 0
        self.ended = False

    def on_part_begin(self) -> None:
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self._text = bytearray()
            return
        if self._name != self._file_field or self.form.file is not None:
            raise UploadError(400, f"send one file, as the multipart field {self._file_field!r}")
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        self.form.file = tmp_beside(self._tmp_dir / "upload")
        self.form.filename = filename.decode("utf-8", "replace")
        self._out = self.form.file.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._out is not None:
            self._file_bytes += len(chunk)
            if self._file_bytes > self._max_file_bytes:
                raise UploadError(413, f"upload is larger than {self._max_file_bytes} bytes")
            self._out.write(chunk)
        elif self._text is not None:
            self._field_bytes += len(chunk)
            if self._field_bytes > MAX_FIELD_BYTES:
                raise UploadError(413, f"the form's text fields are larger than {MAX_FIELD_BYTES} bytes")
            self._text += chunk

    def on_part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        elif self._text is not None:
            self.form.fields[self._name] = self._text.decode("utf-8", "replace")
            self._text = None

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


async def read_upload_form(request: Request, tmp_dir: Path, *, file_field: str = "file",
                           max_file_bytes: int) -> UploadForm:
    """The form of a multipart request, its file already in `tmp_dir`; UploadError if it cannot be read."""
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadError(400, "send the upload as multipart/form-data")
    reader = _Reader(tmp_dir, file_field, max_file_bytes)
    callbacks = {name: getattr(reader, name) for name in (
        "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value", "on_header_end",
        "on_headers_finished", "on_end")}
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if not reader.ended:  # a cut-off body must not pass for a complete (shorter) file
            raise UploadError(400, "the multipart body ended before its closing boundary")
    except (UploadError, OSError):  # OSError: writing the file (a full disk) or a lost client
        _abandon(reader)
        raise
    except Exception as exc:  # noqa: BLE001 - the parser's own errors: a malformed body
        _abandon(reader)
        raise UploadError(400, f"the multipart body cannot be read: {exc}") from None
    except BaseException:  # the request was cancelled (client gone): leave no partial file
        _abandon(reader)
        raise
    reader.close()
    return reader.form


def _abandon(reader: _Reader) -> None:
    with contextlib.suppress(OSError):
        reader.close()
    reader.form.discard()
