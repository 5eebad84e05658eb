"""Detect and undo the compression of a layer or a root filesystem tarball."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from typing import IO, Protocol, cast

import zstandard

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_XZ = b"\xfd7zXZ\x00"
_BZIP2 = b"BZh"

#: Exceptions the decompressors raise for corrupt or truncated input.
DECOMPRESSION_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zstandard.ZstdError,
)


class Readable(Protocol):
    """Any object with a binary ``read`` method, such as a file or a hashing wrapper."""

    def read(self, size: int = -1, /) -> bytes: ...


#: Bytes to read for ``sniff``: one tar header, so a plain tar is recognized by its ustar magic.
SNIFF_BYTES = 512


def sniff(head: bytes) -> str | None:
    """Return the compression named by a stream's first bytes, or None when plain.

    Given a whole tar header (``SNIFF_BYTES``), a plain tar whose first member
    name happens to start with a compression magic is still seen as plain.
    """
    if head[257:262] == b"ustar":
        return None
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
    head = handle.read(SNIFF_BYTES)
    handle.seek(0)
    return sniff(head)


def decompressed(handle: Readable, compression: str | None) -> IO[bytes]:
    """Wrap ``handle`` in a reader that returns the uncompressed bytes.

    Multi-member gzip, multi-stream xz and multi-frame zstd input is read to
    its end, as the command-line tools do. Corrupt input raises one of
    ``DECOMPRESSION_ERRORS`` while reading.
    """
    stream = cast(IO[bytes], handle)
    if compression is None:
        return stream
    if compression == "gzip":
        return cast(IO[bytes], gzip.GzipFile(fileobj=stream, mode="rb"))
    if compression == "xz":
        return cast(IO[bytes], lzma.LZMAFile(stream))
    if compression == "bzip2":
        return cast(IO[bytes], bz2.BZ2File(stream))
    if compression == "zstd":
        # Without read_across_frames the reader stops after the first frame,
        # and zstd:chunked layers hold many frames.
        reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
        return cast(IO[bytes], reader)
    raise ValueError(f"unknown compression {compression!r}")
