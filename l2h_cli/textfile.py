"""Text inputs (names, labels, trees) read with a bound, so a wrong path such as /dev/zero or
a huge binary file gives a clear error instead of taking all memory."""

from __future__ import annotations

import contextlib
import os
import sys

from .errors import InputError, UsageError

#: Beyond this, a names, labels or tree file is taken for a wrong file.
MAX_TEXT_BYTES = 2**30
_CHUNK = 2**20


def read_bytes(path: str, what: str, limit: int = MAX_TEXT_BYTES,
               binary: bool = False) -> bytes:
    """The whole of a file, or of stdin for `-`, read in chunks and refused past `limit`
    bytes or (unless `binary`) at the first NUL byte."""
    if path == "-":
        if sys.stdin is None:
            raise InputError("<stdin>: standard input is closed")
        fh, shown = sys.stdin.buffer, "<stdin>"
    else:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file")
        if os.path.isdir(path):
            raise UsageError(f"{path}: is a directory, not a {what}")
        fh, shown = None, path
    parts: list[bytes] = []
    size = 0
    try:
        with (open(path, "rb") if fh is None else contextlib.nullcontext(fh)) as stream:
            while chunk := stream.read(_CHUNK):
                if not binary and b"\0" in chunk:
                    raise InputError(f"{shown}: holds binary data (NUL bytes), not a {what}")
                size += len(chunk)
                if size > limit:
                    raise InputError(f"{shown}: larger than {limit // 2**20} MiB; not a {what}")
                parts.append(chunk)
    except OSError as exc:
        raise InputError(f"{shown}: cannot be read ({exc.strerror})") from None
    return b"".join(parts)


def decode(data: bytes, shown: str) -> str:
    """UTF-8 text, a byte-order mark dropped."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{shown}: not UTF-8 text (byte {exc.start})") from None


def read_text(path: str, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """The whole of a UTF-8 text file (a byte-order mark is dropped), read in chunks and
    refused at the first NUL byte or past `limit` bytes."""
    return decode(read_bytes(path, what, limit), path)


def text_lines(text: str) -> list[str]:
    r"""Lines split at "\n" only (with a "\r" before it dropped), so form feeds and Unicode
    line separators stay inside a name; trailing empty lines are dropped.

    >>> text_lines("a\r\nb\x0cc\u2028d\n\n")
    ['a', 'b\x0cc\u2028d']
    """
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines
