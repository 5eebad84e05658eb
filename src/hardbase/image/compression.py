"""Detect and undo the compression of a layer or a root filesystem tarball."""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import IO

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_XZ = b"\xfd7zXZ\x00"
_BZIP2 = b"BZh"


def sniff(head: bytes) -> str | None:
    """Return the compression named by a stream's first bytes, or None when plain."""
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_ZSTD):
        return "zstd"
    if head.startswith(_XZ):
        return "xz"
    if head.startswith(_BZIP2):
        return "bzip2"
    return None


def sniff_file(handle: IO[bytes]) -> str | None:
    """Return the compression of a seekable file, leaving its position at the start."""
    handle.seek(0)
    head = handle.read(6)
    handle.seek(0)
    return sniff(head)


def decompressed(handle: IO[bytes], compression: str | None) -> IO[bytes]:
    """Wrap ``handle`` in a reader that returns the uncompressed bytes."""
    if compression is None:
        return handle
    if compression == "gzip":
        return gzip.GzipFile(fileobj=handle, mode="rb")
    if compression == "xz":
        return lzma.LZMAFile(handle)
    if compression == "bzip2":
        return bz2.BZ2File(handle)
    if compression == "zstd":
        import zstandard

        reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(handle)
        return reader
    raise ValueError(f"unknown compression {compression!r}")
