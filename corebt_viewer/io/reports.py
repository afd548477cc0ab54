"""Pathology reports as plain text."""

from __future__ import annotations

from pathlib import Path

from corebt_viewer.core.errors import InputError

MAX_REPORT_BYTES = 2_000_000

#: Encodings tried in order; latin-1 decodes any byte string, so it comes last.
ENCODINGS = ("utf-8", "cp1252", "latin-1")


def decode_report(data: bytes) -> str:
    """Decode report bytes: UTF-8 (a BOM is dropped), else cp1252, else latin-1.

    Line endings are normalised to ``\\n``.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
        return text.replace("\r\n", "\n").replace("\r", "\n")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def read_report(path: str | Path, *, max_bytes: int = MAX_REPORT_BYTES) -> str:
    """Read a pathology report.

    Parameters
    ----------
    path : path-like
        A plain-text file.
    max_bytes : int
        Larger files are refused (a report is a page or two, not a data dump).

    Returns
    -------
    str
        The text, with ``\\n`` line endings.

    Raises
    ------
    InputError
        Missing, unreadable, too large, or binary (not text) file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read report ({exc.strerror or exc})") from None
    if not path.is_file():
        raise InputError(path, "not a file")
    if size > max_bytes:
        raise InputError(
            path, f"report is {size:,} bytes, over the {max_bytes:,}-byte limit for a text report"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read report ({exc.strerror or exc})") from None
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not utf16 and b"\x00" in data[:8192]:
        raise InputError(path, "not a plain-text report (binary data; PDF and Word are not read)")
    return decode_report(data)
