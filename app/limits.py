"""Every input limit of lynkflow, in one place: the parsers of all three faces (api2, VIS, control
plane) read them from here, and the API documentation names them from here.

A request beyond a limit is refused in its API's own error shape with a message naming the limit;
nothing is written. The numbers are lynkflow's choices (the vendors do not publish theirs) and are
listed in docs/parity.md, "Input limits".
"""

from __future__ import annotations

# --- numbers -------------------------------------------------------------------------------
# Every integer anywhere in a request fits a signed 64-bit column (what SQLite and PostgreSQL
# BIGINT hold, and what a .NET `long` holds on the real VIS); each parameter may narrow this.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Digits of INT64_MAX: a digit string longer than this is out of range without converting it (and
# Python refuses to convert strings of more than 4300 digits at all).
INT64_DIGITS = len(str(INT64_MAX))
# Job numbers are 32-bit serials (the `jobs.id` column is INTEGER on PostgreSQL).
MAX_JOB_ID = 2**31 - 1
# Numbers with a fraction must be finite: JSON has no NaN or Infinity, and 1e400 overflows a double.

# --- JSON documents --------------------------------------------------------------------------
# Arrays and objects nested deeper than this are refused before the document is parsed
# (an api2 msg, a VIS body, a control-plane body, a `meta` or `configurationJson` given as a string).
MAX_JSON_DEPTH = 32

# --- text fields (characters) ----------------------------------------------------------------
MAX_ID_CHARS = 200  # identifiers and keys: external ids, ref ids, content ids, API key ids, owners
MAX_NAME_CHARS = 500  # names, titles, file names, short descriptions (api2 `desc`)
MAX_PATH_CHARS = 1000  # paths and URLs: sourcePath, source.url, clip filters
MAX_TEXT_CHARS = 64 * 1024  # free text: a VIS event description, meta values, any other string
MAX_DOCUMENT_CHARS = 1024 * 1024  # a document held as text: VIS configurationJson
MAX_REGEX_CHARS = 1000  # a `regex` matcher of journal/verify or a stub (control/verify.py)
# The one string allowed past MAX_TEXT_CHARS in an api2 msg: `poster_img`, a base64 image (~4 MB).
API2_LARGE_TEXT_FIELDS = frozenset({"poster_img"})
# ...and in a VIS body: `configurationJson` given as a string (at most MAX_DOCUMENT_CHARS).
VIS_LARGE_TEXT_FIELDS = frozenset({"configurationJson"})

# --- request bodies (bytes), counted while they stream in ----------------------------------
# api2: the `msg` (base64 of the zlib'd JSON) plus the rest of the form.
API2_MAX_MSG_CHARS = 12 * 1024 * 1024
API2_MAX_DECOMPRESSED_BYTES = 8 * 1024 * 1024  # a zlib bomb stops here
API2_MAX_BODY_BYTES = API2_MAX_MSG_CHARS + 64 * 1024
VIS_MAX_BODY_BYTES = 2 * 1024 * 1024
CONTROL_MAX_BODY_BYTES = API2_MAX_BODY_BYTES  # /uplynk/explain takes any msg api2 takes; seeds are smaller
OTHER_MAX_BODY_BYTES = 64 * 1024  # dashboard forms, player pages, files: nothing large to send
# Uploads stream to disk with their own caps (app/control/ingest.py, app/control/state_routes.py).
UNCAPPED_UPLOAD_PATHS = frozenset({"/_lynkflow/ingest", "/_lynkflow/snapshot"})
