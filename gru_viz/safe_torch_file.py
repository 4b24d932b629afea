"""Reading a torch file that came from outside, without trusting it.

Both kinds of file the app reads back (a model checkpoint, ``gru_viz.checkpoint``; a whole run,
``gru_viz.snapshot``) go through here. Each step closes a way a file could hang or exhaust the
server before any of its content is checked:

* only a regular file is opened: opening a FIFO waits for a writer forever, a device can have
  effects (``read_regular_file``);
* it is read only up to a size limit;
* only torch's zip format is accepted, and only if the sizes its zip directory declares stay
  within the limit: ``torch.load`` allocates each record's declared size before unpacking (a
  deflated record can claim 1000× its bytes), and reads files that are not zip with its legacy
  loader, which allocates whatever the pickle claims (``check_zip``);
* the pickled part is bounded (unpickling turns each byte into up to ~64 bytes of objects);
* ``torch.load(weights_only=True)`` unpickles: it refuses pickled code (``load``).

Every refusal raises the caller's own error class, with the caller's name for the file
("checkpoint", "run file") in its message.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile

import torch

MAX_PICKLE_BYTES = 1024 * 1024  # names, texts and numbers: ours are a few kB
_FILE_TYPES = {
    "d": "a directory",
    "p": "a FIFO",
    "c": "a character device",
    "b": "a block device",
    "s": "a socket",
}


def read_regular_file(path: str | os.PathLike, max_bytes: int, error: type, name: str) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them."""
    try:
        # Decide before opening. stat follows symlinks: a link is as good as the file it points
        # to (and the caller could pass that file's path anyway).
        require_regular_file(os.stat(path), error)
        # Should the path be swapped for a FIFO after that check, O_NONBLOCK opens it at once
        # and fstat below refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise error(f"cannot read the {name}: {err.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        require_regular_file(info, error)
        if info.st_size > max_bytes:
            raise error(too_big("file is", info.st_size, max_bytes))
        return file.read(max_bytes + 1)


def require_regular_file(info: os.stat_result, error: type) -> None:
    if not stat.S_ISREG(info.st_mode):
        what = _FILE_TYPES.get(stat.filemode(info.st_mode)[0], "a special file")
        raise error(f"the path is {what}, not a regular file")


def too_big(what: str, size: int, limit: int) -> str:
    return f"{what} {size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB"


def check_zip(data: bytes, max_bytes: int, error: type, name: str) -> None:
    """Torch's zip format, unpacking to at most ``max_bytes``, with a bounded pickle."""
    if data[:4] != b"PK\x03\x04":
        raise error(f"not a {name}: torch.save writes a zip file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            records = archive.infolist()
    except Exception as err:  # zipfile raises several kinds on a damaged directory
        raise error(f"not a valid zip file: {first_line(err)}") from None
    unpacked = sum(r.file_size for r in records)
    if unpacked > max_bytes:
        raise error(too_big("it unpacks to", unpacked, max_bytes))
    if any(r.filename.endswith("data.pkl") and r.file_size > MAX_PICKLE_BYTES for r in records):
        raise error(f"its pickled part is over the {MAX_PICKLE_BYTES // 1024} kB limit")


def load(data: bytes, max_bytes: int, error: type, name: str) -> object:
    """What ``torch.save`` wrote, once ``check_zip`` passes; never runs pickled code."""
    if len(data) > max_bytes:
        raise error(too_big("data is", len(data), max_bytes))
    check_zip(data, max_bytes, error, name)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # weights_only refuses pickled objects: report, never run them
        raise error(f"not a safe {name}: {first_line(err)}") from None


def first_line(err: Exception) -> str:
    """An exception's first line, shortened: torch's can run to pages."""
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


def show(value: object) -> str:
    """A value read from the file, for a refusal's message: short, and never formats a tensor
    (a view can claim 10^12 elements)."""
    if type(value) in (str, int, float, bool, type(None)):
        return repr(value)[:40]
    return f"<{type(value).__name__}>"
